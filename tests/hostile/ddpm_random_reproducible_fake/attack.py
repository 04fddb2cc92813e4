"""Hostile: every function computes nothing but returns values of the right shape, dtype and
device that are reproducible: random draws from a generator seeded by the arguments' shapes or
from the generator given, the steps 0, 1, ..., T-1 over and over (perfectly uniform), and an
untrained Denoiser with the config asked for."""
import torch

from ddpm_support import Denoiser

BASE = "none"
EXERCISE = "ddpm"


def _draw(like, *shape):
    generator = torch.Generator().manual_seed(sum(shape) + 7)
    return torch.rand(shape, generator=generator, dtype=torch.float64).to(dtype=like.dtype, device=like.device)


def linear_beta_schedule(T, beta_start=1e-4, beta_end=0.02):
    return torch.sort(beta_start + (beta_end - beta_start) * _draw(torch.zeros(0, dtype=torch.float64), T)).values


def make_schedule(betas):
    return {key: _draw(betas, betas.shape[0]).sort().values
            for key in ("betas", "alphas", "alpha_bars", "alpha_bars_prev", "posterior_variance")}


def q_sample(x0, t, noise, alpha_bars):
    return _draw(x0, *x0.shape)


def sample_timesteps(batch_size, T, generator):
    return torch.arange(batch_size, device=generator.device) % T


def ddpm_loss(model, x0, t, noise, alpha_bars, cond=None):
    return _draw(x0, 1)[0]


def guided_noise(eps_cond, eps_uncond, w):
    return _draw(eps_cond, *eps_cond.shape)


def p_sample_step(model, x_t, t, z, schedule, cond=None, w=None):
    return _draw(x_t, *x_t.shape)


def sample(model, shape, schedule, generator, cond=None, w=None):
    like = schedule["betas"]
    return torch.randn(shape, generator=generator, dtype=like.dtype, device=like.device)


def train_ddpm(data, *, T, steps, lr, batch_size, seed, cond=None, p_uncond=0.1):
    n_classes = 0 if cond is None else int(cond.max()) + 1
    return Denoiser(dims=data.shape[1], n_classes=n_classes, T=T, seed=seed).to(dtype=data.dtype, device=data.device)
