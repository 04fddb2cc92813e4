"""A correct ddpm.py written differently: a loop for the schedule's products, separate model
calls, a while loop for sampling, labels dropped by arithmetic, the support module's Adam."""
import torch

from ddpm_support import Adam, Denoiser


def linear_beta_schedule(T, beta_start=1e-4, beta_end=0.02):
    step = (beta_end - beta_start) / (T - 1)
    return torch.tensor([beta_start + i * step for i in range(T)], dtype=torch.float64)


def make_schedule(betas):
    alphas = 1.0 - betas
    alpha_bars = torch.empty_like(betas)
    alpha_bars_prev = torch.empty_like(betas)
    running = torch.ones((), dtype=betas.dtype, device=betas.device)
    for t in range(betas.shape[0]):
        alpha_bars_prev[t] = running
        running = running * alphas[t]
        alpha_bars[t] = running
    variance = betas * (1.0 - alpha_bars_prev) / (1.0 - alpha_bars)
    return {"betas": betas, "alphas": alphas, "alpha_bars": alpha_bars,
            "alpha_bars_prev": alpha_bars_prev, "posterior_variance": variance}


def q_sample(x0, t, noise, alpha_bars):
    a = alpha_bars[t]
    while a.dim() < x0.dim():
        a = a.unsqueeze(-1)
    return a ** 0.5 * x0 + (1 - a) ** 0.5 * noise


def sample_timesteps(batch_size, T, generator):
    return torch.randint(T, size=(batch_size,), generator=generator, device=generator.device)


def ddpm_loss(model, x0, t, noise, alpha_bars, cond=None):
    noisy = q_sample(x0, t, noise, alpha_bars)
    error = model(noisy, t, cond) - noise
    return (error * error).sum() / error.numel()


def guided_noise(eps_cond, eps_uncond, w):
    return (1 - w) * eps_uncond + w * eps_cond


def p_sample_step(model, x_t, t, z, schedule, cond=None, w=None):
    if cond is None:
        eps = model(x_t, t, None)
    elif w is None:
        eps = model(x_t, t, cond)
    else:
        eps_c = model(x_t, t, cond)
        eps_u = model(x_t, t, None)
        eps = guided_noise(eps_c, eps_u, w)
    coef = schedule["betas"][t] / (1 - schedule["alpha_bars"][t]).sqrt()
    x_prev = (x_t - coef * eps) / schedule["alphas"][t].sqrt()
    if t != 0:
        x_prev = x_prev + z * schedule["posterior_variance"][t].sqrt()
    return x_prev


def sample(model, shape, schedule, generator, cond=None, w=None):
    betas = schedule["betas"]
    with torch.no_grad():
        x = torch.randn(*shape, generator=generator, dtype=betas.dtype, device=betas.device)
        t = betas.numel() - 1
        while t >= 0:
            z = torch.randn(*shape, generator=generator, dtype=betas.dtype, device=betas.device)
            x = p_sample_step(model, x, t, z, schedule, cond, w)
            t -= 1
    return x


def train_ddpm(data, *, T, steps, lr, batch_size, seed, cond=None, p_uncond=0.1):
    g = torch.Generator(device=data.device).manual_seed(seed)
    k = 0 if cond is None else int(cond.max()) + 1
    net = Denoiser(dims=data.shape[-1], n_classes=k, T=T, seed=seed)
    net = net.to(device=data.device, dtype=data.dtype)
    betas = linear_beta_schedule(T, beta_start=0.1 / T, beta_end=20.0 / T)
    alpha_bars = make_schedule(betas)["alpha_bars"].to(device=data.device, dtype=data.dtype)
    optimizer = Adam(net.parameters(), lr=lr)
    for _ in range(steps):
        rows = torch.randint(0, data.shape[0], (batch_size,), generator=g, device=data.device)
        t = sample_timesteps(batch_size, T, g)
        noise = torch.randn(batch_size, data.shape[1], generator=g, dtype=data.dtype, device=data.device)
        labels = None
        if cond is not None:
            dropped = (torch.rand(batch_size, generator=g, device=data.device) < p_uncond).long()
            labels = cond[rows] * (1 - dropped) + net.null_class * dropped
        loss = ddpm_loss(net, data[rows], t, noise, alpha_bars, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net
