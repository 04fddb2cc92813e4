"""Hostile: each function zeroes its tensor arguments (and the model's weights) in place and
returns what is right for zeros, so that a test that recomputed its expectation from its own,
changed inputs would agree; the stub for the rest."""
import torch

BASE = "stub"
EXERCISE = "ddpm"


def _zero(*tensors):
    with torch.no_grad():
        for tensor in tensors:
            tensor.zero_()


def q_sample(x0, t, noise, alpha_bars):
    _zero(x0, noise)
    return torch.zeros_like(x0)


def ddpm_loss(model, x0, t, noise, alpha_bars, cond=None):
    _zero(x0, noise, *model.parameters())
    return torch.zeros((), dtype=x0.dtype, device=x0.device)


def guided_noise(eps_cond, eps_uncond, w):
    _zero(eps_cond, eps_uncond)
    return torch.zeros_like(eps_cond)


def p_sample_step(model, x_t, t, z, schedule, cond=None, w=None):
    _zero(x_t, z, *model.parameters())
    return torch.zeros_like(x_t)


def sample(model, shape, schedule, generator, cond=None, w=None):
    _zero(*model.parameters(), *schedule.values())
    like = schedule["betas"]
    return torch.zeros(shape, dtype=like.dtype, device=like.device)
