"""Hostile: the random functions first reset the generator they are given to a fixed seed, then
draw values of the right kind (uniform steps, standard normal samples): reproducible whatever
the seed, and the generator is left changed; the stub for the rest."""
import torch

BASE = "stub"
EXERCISE = "ddpm"


def sample_timesteps(batch_size, T, generator):
    generator.manual_seed(1234)
    return torch.randint(0, T, (batch_size,), generator=generator, device=generator.device)


def sample(model, shape, schedule, generator, cond=None, w=None):
    generator.manual_seed(1234)
    like = schedule["betas"]
    return torch.randn(shape, generator=generator, dtype=like.dtype, device=like.device)
