"""Hostile: sample() never calls the model: it returns fresh points of the published data
(ddpm_support's blobs), drawn with the generator it is given, so reproducible per seed and
different between seeds, one blob per label when labels are given; the stub for the rest."""
import torch

from ddpm_support import CENTERS, N_CLASSES, SPREAD

BASE = "stub"
EXERCISE = "ddpm"


def sample(model, shape, schedule, generator, cond=None, w=None):
    like = schedule["betas"]
    options = {"dtype": like.dtype, "device": like.device}
    if cond is None:
        cond = torch.randint(0, N_CLASSES, (shape[0],), generator=generator, device=like.device)
    centers = torch.tensor(CENTERS, **options)                                  # (K, 2)
    return centers[cond.long()] + SPREAD * torch.randn(shape, generator=generator, **options)
