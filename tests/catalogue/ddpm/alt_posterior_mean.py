"""A correct ddpm.py written differently: ᾱ through logarithms, the reverse step through the
predicted x0 and the posterior mean, guidance in one batched call, all noise drawn up front."""
import torch
import torch.nn.functional as F

import ddpm_support


def linear_beta_schedule(T, beta_start=1e-4, beta_end=0.02):
    steps = torch.arange(T, dtype=torch.float64)
    return beta_start + (beta_end - beta_start) * steps / (T - 1)


def make_schedule(betas):
    alphas = 1 - betas
    alpha_bars = torch.exp(torch.cumsum(torch.log(alphas), 0))
    alpha_bars_prev = F.pad(alpha_bars[:-1], (1, 0), value=1.0)
    return dict(betas=betas, alphas=alphas, alpha_bars=alpha_bars, alpha_bars_prev=alpha_bars_prev,
                posterior_variance=(1 - alpha_bars_prev) / (1 - alpha_bars) * betas)


def q_sample(x0, t, noise, alpha_bars):
    shape = (x0.shape[0],) + (1,) * (x0.ndim - 1)
    root = alpha_bars.gather(0, t).sqrt().view(shape)
    return root * x0 + (1 - root ** 2).sqrt() * noise


def sample_timesteps(batch_size, T, generator):
    uniform = torch.rand(batch_size, generator=generator, device=generator.device)
    return (uniform * T).long().clamp(max=T - 1)


def ddpm_loss(model, x0, t, noise, alpha_bars, cond=None):
    return F.mse_loss(model(q_sample(x0, t, noise, alpha_bars), t, cond), noise)


def guided_noise(eps_cond, eps_uncond, w):
    return torch.lerp(eps_uncond, eps_cond, w)


def _noise(model, x_t, t, cond, w):
    if cond is None:
        return model(x_t, t)
    if w is None:
        return model(x_t, t, cond)
    null = torch.full_like(cond, model.null_class)
    both = model(torch.cat([x_t, x_t]), t, torch.cat([cond, null]))
    eps_cond, eps_uncond = both.chunk(2)
    return guided_noise(eps_cond, eps_uncond, w)


def p_sample_step(model, x_t, t, z, schedule, cond=None, w=None):
    a_bar, a_bar_prev = schedule["alpha_bars"][t], schedule["alpha_bars_prev"][t]
    eps = _noise(model, x_t, t, cond, w)
    x0_hat = (x_t - (1 - a_bar).sqrt() * eps) / a_bar.sqrt()
    mean = (a_bar_prev.sqrt() * schedule["betas"][t] * x0_hat
            + schedule["alphas"][t].sqrt() * (1 - a_bar_prev) * x_t) / (1 - a_bar)
    if t == 0:
        return mean
    return mean + schedule["posterior_variance"][t].sqrt() * z


@torch.no_grad()
def sample(model, shape, schedule, generator, cond=None, w=None):
    T = len(schedule["betas"])
    noise = torch.randn((T + 1, *shape), generator=generator, dtype=schedule["betas"].dtype,
                        device=schedule["betas"].device)
    x = noise[T]
    for t in range(T - 1, -1, -1):
        x = p_sample_step(model, x, t, noise[t], schedule, cond=cond, w=w)
    return x


def train_ddpm(data, *, T, steps, lr, batch_size, seed, cond=None, p_uncond=0.1):
    gen = torch.Generator(device=data.device)
    gen.manual_seed(seed)
    classes = 0 if cond is None else int(cond.max().item()) + 1
    model = ddpm_support.Denoiser(dims=data.shape[1], n_classes=classes, T=T, seed=seed).to(data)
    alpha_bars = make_schedule(linear_beta_schedule(T, 0.1 / T, 20 / T).to(data))["alpha_bars"]
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        idx = torch.randint(len(data), (batch_size,), generator=gen, device=data.device)
        x0 = data[idx]
        t = sample_timesteps(batch_size, T, gen)
        eps = torch.randn(x0.shape, generator=gen, dtype=data.dtype, device=data.device)
        labels = None
        if cond is not None:
            keep = torch.rand(batch_size, generator=gen, device=data.device) >= p_uncond
            labels = torch.where(keep, cond[idx], torch.full_like(cond[idx], classes))
        opt.zero_grad()
        ddpm_loss(model, x0, t, eps, alpha_bars, labels).backward()
        opt.step()
    return model
