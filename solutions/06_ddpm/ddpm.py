# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exercise 06: denoising diffusion
#
# A diffusion model learns to reverse the process of adding noise. Take a data point, add a
# little Gaussian noise, then a little more, step after step, until nothing but noise is left.
# A network that can say "what noise was added?" at any step can walk that road backwards:
# start from pure noise, remove the predicted noise a bit at a time, and a new data point
# appears. You will build the whole method of Ho et al. (2020, "DDPM") for points in the plane:
# the noise schedule, the forward (noising) process, the training loss, the reverse (sampling)
# step, and classifier-free guidance, which steers the samples towards a chosen class.
#
# **Notation.** There are T steps, numbered **from 0**: t ∈ {0, ..., T−1}. A schedule of small
# variances β_0, ..., β_{T−1} says how much noise each step adds. From it:
#
#     α_t = 1 − β_t                     how much of the signal one step keeps
#     ᾱ_t = α_0 · α_1 · ... · α_t       how much of the signal survives steps 0..t (t included)
#
# **The forward process.** Noising step t takes the point before it to
# x_t = √α_t · x_{t−1} + √β_t · ε, with fresh noise ε ~ N(0, I). Before step 0 there is the clean
# data point, written x0 (so x_{−1} = x0 in this 0-based numbering). Steps of Gaussian noise add
# up to one Gaussian, so x_t can be drawn from x0 directly, in one go:
#
#     x_t = √ᾱ_t · x0 + √(1 − ᾱ_t) · ε,      ε ~ N(0, I)
#
# Its mean is √ᾱ_t · x0 and its variance 1 − ᾱ_t. When ᾱ_{T−1} is close to 0, x_{T−1} is almost
# pure N(0, I) noise, whatever x0 was.
#
# **The network** ε_θ(x_t, t) is given: it sees the noisy point and the step and predicts the ε
# that was used. Training it is plain regression: draw x0 from the data, a step t and a noise ε,
# make x_t, and minimise the mean squared error ‖ε − ε_θ(x_t, t)‖².
#
# **The reverse process.** To go back from x_t to x_{t−1} (from x_0 to the clean point x0 at the
# last step), remove the predicted noise and add a little fresh noise z ~ N(0, I); without it,
# every sample would drift to the same average point:
#
#     x_{t−1} = 1/√α_t · (x_t − β_t / √(1 − ᾱ_t) · ε_θ(x_t, t)) + σ_t · z,     σ_t² = β̃_t
#
# where β̃_t = β_t · (1 − ᾱ_{t−1}) / (1 − ᾱ_t) is the variance of the true posterior
# q(x_{t−1} | x_t, x0), with ᾱ_{−1} = 1 (the empty product). At the very last step, t = 0, no
# noise is added: the mean is the sample.
#
# **Rules for this file.** PyTorch only. Every function takes and returns torch tensors and keeps
# the dtype and device of its inputs (the schedule's for the sampler): nothing is moved to another
# device behind the caller's back. Randomness comes only from the `torch.Generator` you are given
# (or, in `train_ddpm`, one you make from the seed). Run the public tests with `pytest` in this
# folder.
#
# **What is given** (in `ddpm_support.py`): the network `Denoiser`, called as
# `model(x_t, t, cond=None)`, where t is an int or an integer tensor of shape (B,) and cond holds
# class labels (`None` means "no class": the model's *null class*, index `model.null_class`);
# the `Adam` optimiser; the data `make_data(n, seed)`, three Gaussian blobs with a class label
# each; `energy_distance` between two point clouds; and two pictures, `plot_samples` and
# `plot_paths`.

# %%
import torch

from ddpm_support import Adam, Denoiser


# %% [markdown]
# ## 1. The noise schedule
#
# `linear_beta_schedule(T, beta_start, beta_end)` returns β_0, ..., β_{T−1} evenly spaced from
# `beta_start` to `beta_end`, both included, as a **float64** tensor of shape (T,) on the CPU
# (`torch.linspace` does this, given the dtype).
#
# `make_schedule(betas)` computes everything the other steps need, each of shape (T,), in the
# dtype and on the device of `betas`, and returns them in a dict:
#
# - `"betas"`: β_t, as given;
# - `"alphas"`: α_t = 1 − β_t;
# - `"alpha_bars"`: ᾱ_t = α_0 · ... · α_t, the product up to **and including** step t
#   (`torch.cumprod`). With the default schedule and T = 1000, ᾱ_999 ≈ 4.04e-5;
# - `"alpha_bars_prev"`: ᾱ_{t−1}, the same products shifted by one step, with ᾱ_{−1} = 1 at t = 0;
# - `"posterior_variance"`: β̃_t = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t). It is exactly 0 at t = 0; with the
#   default schedule and T = 1000 it is about 0.0097916 at t = 487.

# %%
def linear_beta_schedule(T, beta_start=1e-4, beta_end=0.02):
    """Linearly spaced noise variances.

    Inputs:
    - T: int, the number of diffusion steps.
    - beta_start, beta_end: floats, the first and the last variance.

    Returns:
    - betas: float64 tensor of shape (T,) on the CPU, from beta_start to beta_end (both included).
    """
    ### BEGIN SOLUTION
    return torch.linspace(beta_start, beta_end, T, dtype=torch.float64)  # (T,)
    ### END SOLUTION


def make_schedule(betas):
    """Everything the forward and the reverse process need, from the variances.

    Inputs:
    - betas: tensor of shape (T,), the variances β_t, each in (0, 1).

    Returns a dict of tensors, each of shape (T,), dtype and device of betas:
    - "betas": β_t; "alphas": α_t = 1 - β_t; "alpha_bars": ᾱ_t = α_0 ... α_t;
    - "alpha_bars_prev": ᾱ_{t-1}, with 1 at t = 0;
    - "posterior_variance": β_t (1 - ᾱ_{t-1}) / (1 - ᾱ_t).
    """
    ### BEGIN SOLUTION
    alphas = 1.0 - betas                                                     # (T,)
    alpha_bars = torch.cumprod(alphas, dim=0)                                # (T,) step t included
    alpha_bars_prev = torch.cat([torch.ones_like(alpha_bars[:1]), alpha_bars[:-1]])  # (T,)
    posterior_variance = betas * (1.0 - alpha_bars_prev) / (1.0 - alpha_bars)  # (T,) 0 at t = 0
    return {"betas": betas, "alphas": alphas, "alpha_bars": alpha_bars,
            "alpha_bars_prev": alpha_bars_prev, "posterior_variance": posterior_variance}
    ### END SOLUTION


# %% [markdown]
# ## 2. The forward process: noising in one go
#
# `q_sample(x0, t, noise, alpha_bars)` computes x_t = √ᾱ_t · x0 + √(1 − ᾱ_t) · ε for a batch: each
# of the B points has its own step `t[i]`, and the noise ε is given (so the result is
# deterministic and can be checked). x0 may have any shape (B, ...): reshape ᾱ_t to (B, 1, ..., 1)
# so that it broadcasts over the other dimensions. Mind the square roots: the *standard
# deviations* are √ᾱ_t and √(1 − ᾱ_t), so that the variances add up to ᾱ_t · Var(x0) + 1 − ᾱ_t.

# %%
def q_sample(x0, t, noise, alpha_bars):
    """Draw x_t from q(x_t | x0) with the given noise.

    Inputs:
    - x0: tensor of shape (B, ...), clean data points.
    - t: int64 tensor of shape (B,), the step of each point, in 0..T-1.
    - noise: tensor of the shape of x0, standard normal noise ε.
    - alpha_bars: tensor of shape (T,), ᾱ_t.

    Returns:
    - x_t: tensor of the shape, dtype and device of x0.
    """
    ### BEGIN SOLUTION
    alpha_bar = alpha_bars[t].reshape(-1, *([1] * (x0.dim() - 1)))          # (B, 1, ..., 1)
    return torch.sqrt(alpha_bar) * x0 + torch.sqrt(1.0 - alpha_bar) * noise  # (B, ...)
    ### END SOLUTION


# %% [markdown]
# ## 3. The training loss
#
# A training batch needs one step per point, drawn uniformly from {0, ..., T−1}: write
# `sample_timesteps(batch_size, T, generator)` with `torch.randint` (its upper bound is excluded),
# on the generator's device (`generator.device`).
#
# `ddpm_loss(model, x0, t, noise, alpha_bars, cond=None)` makes x_t with `q_sample`, asks the model
# for its prediction ε_θ(x_t, t, cond), and returns the mean squared error between the prediction
# and the noise that was really used, as a 0-d tensor that autograd can differentiate (the mean
# over all B·D numbers).

# %%
def sample_timesteps(batch_size, T, generator):
    """Steps for a training batch, uniform over 0..T-1.

    Inputs:
    - batch_size: int, B.
    - T: int, the number of steps.
    - generator: torch.Generator, the only source of randomness.

    Returns:
    - t: int64 tensor of shape (B,) on the generator's device, each value in 0..T-1.
    """
    ### BEGIN SOLUTION
    return torch.randint(0, T, (batch_size,), generator=generator, device=generator.device)  # (B,)
    ### END SOLUTION


def ddpm_loss(model, x0, t, noise, alpha_bars, cond=None):
    """The denoising loss of Ho et al.: mean squared error of the predicted noise.

    Inputs:
    - model: callable, model(x_t, t, cond) -> predicted noise of the shape of x_t.
    - x0: tensor of shape (B, D), clean points.
    - t: int64 tensor of shape (B,), the step of each point.
    - noise: tensor of shape (B, D), the noise ε used to make x_t.
    - alpha_bars: tensor of shape (T,).
    - cond: None, or int64 tensor of shape (B,), class labels.

    Returns:
    - loss: 0-d tensor, mean((ε - ε_θ(x_t, t, cond))²) over all entries.
    """
    ### BEGIN SOLUTION
    x_t = q_sample(x0, t, noise, alpha_bars)                                 # (B, D)
    predicted = model(x_t, t, cond)                                          # (B, D)
    return torch.mean((noise - predicted) ** 2)
    ### END SOLUTION


# %% [markdown]
# ## 4. One reverse step, with or without guidance
#
# **Classifier-free guidance.** One model serves both as a conditional model ε_θ(x_t, t, c) and as
# an unconditional one ε_θ(x_t, t, ∅) (the null class), because during training the label is
# replaced by the null class now and then. When sampling, the two predictions are combined, and
# the difference between them, the direction "towards class c", is amplified:
#
#     ε̃ = ε_θ(x_t, t, ∅) + w · (ε_θ(x_t, t, c) − ε_θ(x_t, t, ∅))
#
# With w = 0 this is the unconditional model, with w = 1 the conditional one, and w > 1 pushes
# further towards the class. (The same rule is often written ε_c + s · (ε_c − ε_∅), starting
# from the *conditional* prediction; that s is w − 1. Here, w is the weight above.)
#
# `p_sample_step(model, x_t, t, z, schedule, cond=None, w=None)` computes x_{t−1} from x_t for one
# integer step t, with the given standard normal z, using the reverse formula of the introduction
# with σ_t² = `schedule["posterior_variance"][t]`. The predicted noise is
# - ε_θ(x_t, t) (no class) when `cond` is None;
# - ε_θ(x_t, t, cond) when `cond` is given and `w` is None;
# - the guided ε̃ above when both are given.
#
# At t = 0 return the mean alone: **no noise at the last step**, whatever the schedule's variance
# at t = 0 (some schedules use β_t as the variance, which is not 0 there).

# %%
def guided_noise(eps_cond, eps_uncond, w):
    """Classifier-free guidance.

    Inputs:
    - eps_cond: tensor of shape (B, D), the conditional prediction ε_θ(x_t, t, c).
    - eps_uncond: tensor of shape (B, D), the unconditional prediction ε_θ(x_t, t, ∅).
    - w: float, the guidance weight (0: unconditional, 1: conditional).

    Returns:
    - eps: tensor of shape (B, D), ε_∅ + w (ε_c - ε_∅).
    """
    ### BEGIN SOLUTION
    return eps_uncond + w * (eps_cond - eps_uncond)
    ### END SOLUTION


def p_sample_step(model, x_t, t, z, schedule, cond=None, w=None):
    """One step of the reverse process: x_{t-1} from x_t.

    Inputs:
    - model: callable, model(x_t, t, cond=None) -> predicted noise of the shape of x_t.
    - x_t: tensor of shape (B, D).
    - t: int, the current step, in 0..T-1.
    - z: tensor of shape (B, D), standard normal noise (not used at t = 0).
    - schedule: dict as make_schedule returns it.
    - cond: None, or int64 tensor of shape (B,), class labels.
    - w: None, or float: the guidance weight (used only with cond).

    Returns:
    - x_prev: tensor of shape (B, D), dtype and device of x_t.
    """
    ### BEGIN SOLUTION
    if cond is not None and w is not None:
        eps = guided_noise(model(x_t, t, cond), model(x_t, t), w)           # (B, D)
    else:
        eps = model(x_t, t, cond)                                            # (B, D)
    beta, alpha, alpha_bar = schedule["betas"][t], schedule["alphas"][t], schedule["alpha_bars"][t]
    mean = (x_t - beta / torch.sqrt(1.0 - alpha_bar) * eps) / torch.sqrt(alpha)  # (B, D)
    if t > 0:
        return mean + torch.sqrt(schedule["posterior_variance"][t]) * z     # (B, D)
    return mean
    ### END SOLUTION


# %% [markdown]
# ## 5. Sampling
#
# `sample(model, shape, schedule, generator, cond=None, w=None)` starts from x_{T−1} ~ N(0, I) of
# the given shape and applies `p_sample_step` for t = T−1, T−2, ..., 0, with a fresh standard
# normal z at every step. Draw all the noise from `generator` (`torch.randn(...,
# generator=generator)`), in the dtype and on the device of the schedule's tensors. No gradients
# are needed: run the loop under `torch.no_grad()`.

# %%
def sample(model, shape, schedule, generator, cond=None, w=None):
    """Generate points by running the reverse process from pure noise.

    Inputs:
    - model: callable, model(x_t, t, cond=None) -> predicted noise.
    - shape: tuple (B, D), the shape of the batch to generate.
    - schedule: dict as make_schedule returns it; its tensors set the dtype and device.
    - generator: torch.Generator on the schedule's device, the only source of randomness.
    - cond: None, or int64 tensor of shape (B,), the class of each sample.
    - w: None, or float, the guidance weight.

    Returns:
    - x0: tensor of the given shape, the generated points.
    """
    ### BEGIN SOLUTION
    betas = schedule["betas"]
    options = {"generator": generator, "dtype": betas.dtype, "device": betas.device}
    with torch.no_grad():
        x = torch.randn(shape, **options)                                    # (B, D) x_{T-1}
        for t in reversed(range(betas.shape[0])):
            z = torch.randn(shape, **options)                                # (B, D)
            x = p_sample_step(model, x, t, z, schedule, cond, w)
    return x
    ### END SOLUTION


# %% [markdown]
# ## 6. Training
#
# `train_ddpm(data, *, T, steps, lr, batch_size, seed, cond=None, p_uncond=0.1)` trains a fresh
# `Denoiser` and returns it. Make every random choice from one generator,
# `torch.Generator(device=data.device).manual_seed(seed)`, and build:
#
# - the network `Denoiser(dims=D, n_classes=K, T=T, seed=seed)`, moved to the dtype and device of
#   `data` (`.to(...)`); K = `int(cond.max()) + 1` classes when labels are given, else 0;
# - the schedule of T steps `make_schedule(linear_beta_schedule(T, 0.1 / T, 20 / T))` in the dtype
#   and on the device of `data`: the usual 1000-step schedule, stretched to T steps so that
#   ᾱ_{T−1} is close to 0 for short chains too (it is the default schedule when T = 1000);
# - an Adam optimiser with learning rate `lr`: `Adam(model.parameters(), lr=lr)` from the support
#   module (or torch.optim.Adam, which is the same but slower to load).
#
# Then repeat `steps` times: pick `batch_size` rows of the data at random (with replacement),
# a step per row with `sample_timesteps`, a standard normal noise, compute `ddpm_loss`, and take
# one optimiser step. With labels, replace each label by the null class (`model.null_class`)
# with probability `p_uncond`, so that the same network learns the unconditional prediction
# too, as guidance needs.

# %%
def train_ddpm(data, *, T, steps, lr, batch_size, seed, cond=None, p_uncond=0.1):
    """Train a Denoiser on data with the DDPM loss.

    Inputs:
    - data: float tensor of shape (N, D), the training points.
    - T: int, the number of diffusion steps (25 or more).
    - steps: int, the number of optimiser steps.
    - lr: float, Adam's learning rate.
    - batch_size: int.
    - seed: int, seeds the generator and the network's initial weights.
    - cond: None, or int64 tensor of shape (N,), a class label per point, in 0..K-1.
    - p_uncond: float, the probability of replacing a label by the null class.

    Returns:
    - model: the trained Denoiser, in the dtype and on the device of data.
    """
    ### BEGIN SOLUTION
    generator = torch.Generator(device=data.device).manual_seed(seed)
    n, dims = data.shape
    n_classes = 0 if cond is None else int(cond.max()) + 1
    model = Denoiser(dims=dims, n_classes=n_classes, T=T, seed=seed).to(dtype=data.dtype, device=data.device)
    betas = linear_beta_schedule(T, 0.1 / T, 20.0 / T).to(dtype=data.dtype, device=data.device)
    alpha_bars = make_schedule(betas)["alpha_bars"]                          # (T,)
    optimizer = Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        rows = torch.randint(0, n, (batch_size,), generator=generator, device=data.device)  # (B,)
        t = sample_timesteps(batch_size, T, generator)                       # (B,)
        noise = torch.randn(batch_size, dims, generator=generator, dtype=data.dtype, device=data.device)
        labels = None
        if cond is not None:
            labels = cond[rows].clone()                                      # (B,)
            drop = torch.rand(batch_size, generator=generator, device=data.device) < p_uncond
            labels[drop] = model.null_class
        loss = ddpm_loss(model, data[rows], t, noise, alpha_bars, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model
    ### END SOLUTION


# %% [markdown]
# ## 7. Try it
#
# Train on the three blobs with their labels, then draw samples without a class, and with a
# class and guidance. The energy distance to the data should be small (below about 0.05), the
# unguided samples should cover all three blobs, and the guided ones should sit in their own
# blob. The second picture follows a few points on their way from noise to data.

# %%
if __name__ == "__main__":
    from ddpm_support import N_CLASSES, energy_distance, make_data, plot_paths, plot_samples, show

    T_demo = 50
    data_demo, labels_demo = make_data(4000, seed=0)
    denoiser = train_ddpm(data_demo, T=T_demo, steps=2000, lr=2e-3, batch_size=256, seed=0,
                          cond=labels_demo, p_uncond=0.5)
    schedule_demo = make_schedule(linear_beta_schedule(T_demo, 0.1 / T_demo, 20.0 / T_demo).float())
    generator_demo = torch.Generator().manual_seed(0)
    free = sample(denoiser, (1000, 2), schedule_demo, generator_demo)
    print(f"energy distance of unguided samples to the data: {energy_distance(free, data_demo):.4f}")
    classes = torch.arange(1000) % N_CLASSES
    guided = sample(denoiser, (1000, 2), schedule_demo, generator_demo, cond=classes, w=3.0)
    show(plot_samples(data_demo, free, data_labels=labels_demo, title="Samples"), "ddpm_samples.png")
    show(plot_samples(data_demo, guided, data_labels=labels_demo, sample_labels=classes,
                      title="Guided samples, w = 3"), "ddpm_guided.png")

    # the reverse process step by step, keeping every x_t of a few points
    with torch.no_grad():
        x = torch.randn(8, 2, generator=generator_demo)
        path = [x]
        for t in reversed(range(T_demo)):
            x = p_sample_step(denoiser, x, t, torch.randn(8, 2, generator=generator_demo), schedule_demo)
            path.append(x)
    show(plot_paths(torch.stack(path), data_demo), "ddpm_paths.png")
