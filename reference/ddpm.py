"""Reference for exercise 06 (ddpm), in PyTorch: denoising diffusion on 2-D data.

Tensor-first and device-agnostic: every function works on the dtype and device of its tensor
inputs (the schedule's for the sampler). Timesteps are 0-based: t in {0, ..., T-1}, and
alpha_bars[t] is the product of alphas[0..t]. The network is the exercise's own Denoiser
(exercises/06_ddpm/ddpm_support.py), imported from that folder.

Written independently of the worked solution: alpha_bars through a sum of logarithms, and the
reverse step through the predicted x_0 and the mean of q(x_{t-1} | x_t, x_0).

    python -m reference.ddpm     # trains the hidden tests' denoiser and writes TEST_DENOISER
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
SUPPORT_DIR = ROOT / "exercises" / "06_ddpm"
TEST_DENOISER = ROOT / "grader" / "hidden" / "data" / "ddpm_denoiser.npz"
# how the hidden tests' denoiser is trained: the data, the diffusion, and the optimiser's phases
# of (steps, learning rate), the rate lowered at the end for a well-settled final network
TEST_DENOISER_SETTINGS = dict(n=4000, data_seed=11, T=50, phases=((4000, 2e-3), (3000, 5e-4), (2000, 1e-4)),
                              batch_size=512, seed=5, p_uncond=0.5)


def support():
    """The exercise's support module (Denoiser, make_data, ...), imported from its folder."""
    if str(SUPPORT_DIR) not in sys.path:
        sys.path.insert(0, str(SUPPORT_DIR))
    import ddpm_support

    return ddpm_support


# ---------------------------------------------------------------- the forward process

def linear_beta_schedule(T, beta_start=1e-4, beta_end=0.02, dtype=torch.float64, device=None):
    """betas (T,) evenly spaced from beta_start to beta_end, both included."""
    steps = torch.arange(T, dtype=dtype, device=device)                         # (T,)
    return beta_start + (beta_end - beta_start) * steps / max(T - 1, 1)          # (T,)


def training_schedule(T, dtype=torch.float64, device=None):
    """The schedule train_ddpm uses for T steps: the 1000-step linear schedule stretched to T steps."""
    return make_schedule(linear_beta_schedule(T, 0.1 / T, 20.0 / T, dtype=dtype, device=device))


def make_schedule(betas):
    """{betas, alphas, alpha_bars, alpha_bars_prev, posterior_variance}, each (T,)."""
    alphas = 1.0 - betas                                                        # (T,)
    alpha_bars = torch.exp(torch.cumsum(torch.log(alphas), dim=0))              # (T,) prod of alphas[0..t]
    alpha_bars_prev = F.pad(alpha_bars[:-1], (1, 0), value=1.0)                 # (T,) empty product at t = 0
    posterior_variance = betas * (1.0 - alpha_bars_prev) / (1.0 - alpha_bars)   # (T,)
    return dict(betas=betas, alphas=alphas, alpha_bars=alpha_bars, alpha_bars_prev=alpha_bars_prev,
                posterior_variance=posterior_variance)


def _per_point(values, t, like):
    """values[t] shaped (B, 1, ..., 1) to broadcast against ``like`` (B, ...)."""
    return values[t].reshape(-1, *([1] * (like.dim() - 1)))


def q_sample(x0, t, noise, alpha_bars):
    """x_t = sqrt(alpha_bars[t]) x0 + sqrt(1 - alpha_bars[t]) noise; x0, noise: (B, ...), t: (B,)."""
    alpha_bar = _per_point(alpha_bars, t, x0)                                   # (B, 1, ...)
    return alpha_bar.sqrt() * x0 + (1.0 - alpha_bar).sqrt() * noise            # (B, ...)


def ddpm_loss(model, x0, t, noise, alpha_bars, cond=None):
    """Mean squared error between the noise and the model's prediction of it from x_t (0-d)."""
    predicted = model(q_sample(x0, t, noise, alpha_bars), t, cond)             # (B, ...)
    return F.mse_loss(predicted, noise)


def sample_timesteps(batch_size, T, generator):
    """batch_size timesteps drawn uniformly from {0, ..., T-1}, on the generator's device."""
    return torch.randint(0, T, (batch_size,), generator=generator, device=generator.device)


# ---------------------------------------------------------------- the reverse process

def guided_noise(eps_cond, eps_uncond, w):
    """Classifier-free guidance: eps_uncond + w (eps_cond - eps_uncond)."""
    return eps_uncond + w * (eps_cond - eps_uncond)


def predicted_noise(model, x_t, t, cond=None, w=None):
    """The model's noise at step t (an int): conditional, unconditional, or guided when w is given."""
    steps = torch.full((x_t.shape[0],), t, dtype=torch.long, device=x_t.device)  # (B,)
    if cond is None:
        return model(x_t, steps)
    if w is None:
        return model(x_t, steps, cond)
    return guided_noise(model(x_t, steps, cond), model(x_t, steps, None), w)


def p_sample_step(model, x_t, t, z, schedule, cond=None, w=None):
    """x_{t-1} from x_t (B, D) at step t (int), with the given standard normal z (B, D)."""
    betas, alphas = schedule["betas"], schedule["alphas"]
    alpha_bar, alpha_bar_prev = schedule["alpha_bars"][t], schedule["alpha_bars_prev"][t]
    eps = predicted_noise(model, x_t, t, cond, w)                               # (B, D)
    x0_hat = (x_t - (1.0 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()          # (B, D)
    mean = (alpha_bar_prev.sqrt() * betas[t] * x0_hat
            + alphas[t].sqrt() * (1.0 - alpha_bar_prev) * x_t) / (1.0 - alpha_bar)  # (B, D)
    if t == 0:
        return mean
    return mean + schedule["posterior_variance"][t].sqrt() * z


@torch.no_grad()
def sample(model, shape, schedule, generator, cond=None, w=None, keep_path=False):
    """x_0 of the given shape, from x_{T-1} ~ N(0, I) through T reverse steps.

    Works in the schedule's dtype and on its device. keep_path: also return the path, a tensor
    (T + 1, *shape) of x before the first step and after every step.
    """
    like = schedule["betas"]
    x = torch.randn(shape, generator=generator, dtype=like.dtype, device=like.device)
    path = [x]
    for t in range(like.shape[0] - 1, -1, -1):
        z = torch.randn(shape, generator=generator, dtype=like.dtype, device=like.device)
        x = p_sample_step(model, x, t, z, schedule, cond, w)
        path.append(x)
    return (x, torch.stack(path)) if keep_path else x


# ---------------------------------------------------------------- training

def train_step(model, optimizer, data, alpha_bars, generator, batch_size, cond=None, p_uncond=0.1):
    """One optimiser step on a random batch of data (N, D) -> the batch's loss (0-d, detached).

    cond: optional labels (N,), each replaced by the model's null class with probability p_uncond.
    """
    rows = torch.randint(0, data.shape[0], (batch_size,), generator=generator, device=data.device)
    t = sample_timesteps(batch_size, alpha_bars.shape[0], generator)            # (B,)
    noise = torch.randn((batch_size, data.shape[1]), generator=generator, dtype=data.dtype,
                        device=data.device)                                     # (B, D)
    labels = None
    if cond is not None:
        keep = torch.rand(batch_size, generator=generator, device=data.device) >= p_uncond
        labels = torch.where(keep, cond[rows], torch.full_like(cond[rows], model.null_class))  # (B,)
    loss = ddpm_loss(model, data[rows], t, noise, alpha_bars, labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()


def new_training(data, T, lr, seed, cond=None):
    """(a fresh Denoiser for data (N, D), its Adam optimiser, alpha_bars of the training schedule)."""
    n_classes = 0 if cond is None else int(cond.max()) + 1
    model = support().Denoiser(dims=data.shape[1], n_classes=n_classes, T=T, seed=seed)
    model = model.to(device=data.device, dtype=data.dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, foreach=True)
    return model, optimizer, training_schedule(T, dtype=data.dtype, device=data.device)["alpha_bars"]


def train_ddpm(data, *, T, steps, lr, batch_size, seed, cond=None, p_uncond=0.1):
    """A Denoiser trained on data (N, D) with Adam; cond: optional labels (N,), dropped to the null
    class with probability p_uncond."""
    generator = torch.Generator(device=data.device).manual_seed(seed)
    model, optimizer, alpha_bars = new_training(data, T, lr, seed, cond)
    for _ in range(steps):
        train_step(model, optimizer, data, alpha_bars, generator, batch_size, cond, p_uncond)
    return model.eval()


# ---------------------------------------------------------------- the hidden tests' denoiser

def save_denoiser(model, path):
    """Write a Denoiser's config and weights to an .npz file (no pickle)."""
    arrays = {f"state.{name}": tensor.detach().cpu().numpy() for name, tensor in model.state_dict().items()}
    np.savez(path, config=np.array(json.dumps(model.config)), **arrays)


def load_denoiser(path=TEST_DENOISER, dtype=torch.float32, device="cpu"):
    """The Denoiser saved at ``path``, in ``dtype`` on ``device``."""
    ddpm_support = support()
    with np.load(path, allow_pickle=False) as saved:
        config = json.loads(str(saved["config"]))
        state = {key.removeprefix("state."): torch.from_numpy(saved[key]) for key in saved.files
                 if key.startswith("state.")}
    model = ddpm_support.Denoiser(**config)
    model.load_state_dict(state)
    return model.to(device=device, dtype=dtype).eval()


def train_test_denoiser(settings=TEST_DENOISER_SETTINGS):
    """The hidden tests' denoiser: class-conditional, trained on make_data with the reference."""
    data, labels = support().make_data(settings["n"], seed=settings["data_seed"])
    generator = torch.Generator().manual_seed(settings["seed"])
    model, optimizer, alpha_bars = new_training(data, settings["T"], settings["phases"][0][1],
                                                settings["seed"], labels)
    for steps, lr in settings["phases"]:
        for group in optimizer.param_groups:
            group["lr"] = lr
        for _ in range(steps):
            train_step(model, optimizer, data, alpha_bars, generator, settings["batch_size"], labels,
                       settings["p_uncond"])
    return model.eval()


if __name__ == "__main__":
    torch.set_num_threads(1)
    TEST_DENOISER.parent.mkdir(parents=True, exist_ok=True)
    save_denoiser(train_test_denoiser(), TEST_DENOISER)
    print(f"wrote {TEST_DENOISER}")
