"""Hidden tests for exercise 06 (ddpm). Never shown to students.

Deterministic checks in float64 against the PyTorch reference (the schedule, q_sample with given
noise, the loss and the reverse step with given weights and a given z); the closed-form moments of
q(x_t | x0) and of the sampler run with a network whose prediction is linear in x_t; and end to
end: samples of the student's sampler (with the reference's trained denoiser) and of the student's
trained denoiser (with the reference's sampler) must be close to the data by the energy distance,
which the judge computes. The checks run on the CPU, and on CUDA too when there is a GPU.

What a sampler returns must follow the model it is given: the trained denoiser reaches it turned
by a random angle (the denoiser of the data turned so), and the linear networks set the moments,
so points of the published data or random draws that ignore the model earn nothing. train_ddpm
runs in a child of its own, on data turned by a random angle, and a model the judge sent (the
shipped denoiser above all) is refused: the model must come from that call's training.
"""
import math

import numpy as np
import pytest
import torch

import ddpm_support
from nnex_check import assert_close, call_with_arguments, describe, expect_tensor, fail, in_a_fresh_process
from reference import ddpm as ref

STUDENT_MODULE = "ddpm"
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
KEYS = ("betas", "alphas", "alpha_bars", "alpha_bars_prev", "posterior_variance")
T_SAMPLING = 50  # the steps of the shipped denoiser and of the end-to-end tests
# Energy distances between N_SAMPLES samples and 2100 points of the data (per class: 667 and 700).
# With the shipped, well-trained denoiser a correct sampler stays below half of the first two; a
# short training (TRAINING) leaves rougher samples, hence the wider limits for the student's own
# trained denoiser. Broken samplers and trainings land above (tests/test_reference_ddpm.py and the
# mistake catalogue check both sides). Turned by the angles of _turn, correct samplers stayed at
# 0.0015-0.0033 (per class 0.0056-0.0078) over 6 seeds, points of the unturned data at 0.23-0.28;
# the solution's and the alternatives' trainings at 0.006-0.016.
N_SAMPLES = 2000
MAX_DISTANCE, MAX_CLASS_DISTANCE = 0.01, 0.02
MAX_TRAINED_DISTANCE, MAX_TRAINED_CLASS_DISTANCE = 0.12, 0.15
MIN_OWN_BLOB = 0.9  # share of guided samples (w = 3) nearest to their own class's centre
TRAINING = dict(T=T_SAMPLING, steps=800, lr=3e-3, batch_size=256, seed=7, p_uncond=0.5)
TRAINING_DATA_SEED = 20260
# Correlation between the noise the trained network predicts on its (noised) training data and
# the noise used: 0.94-0.95 for the solution and the alternatives over 3 seeds and angles, 0.84-0.85
# after training on uniform noise, 0.91 with q_sample's missing square roots; about -0.05 for the
# untrained network that a fake returns.
MIN_NOISE_CORRELATION = 0.5
# Relative distance (root of the summed squared differences over the root of the summed squares)
# below which a returned model counts as one the judge sent: trained models ended 1.26-1.32 away
# from the shipped denoiser (the solution, the alternatives and four mutants, 3 seeds each).
MAX_DISTANCE_TO_A_SENT_MODEL = 0.5
# The two linear networks of test_sample_draws_from_the_generator predict 0.3 x_t and x_t: the
# first spreads the samples sqrt(294.4 / 0.1698) = 41.6 times as wide as the second; samplers with
# one catalogued mistake keep 5.35 (alpha for alpha_bar) to 1.4e4, one that ignores the model has 1.
MIN_SPREAD_RATIO = 3.0
_GIVEN = []  # every Denoiser these tests gave the student's code (see _given)


# ---------------------------------------------------------------- helpers (judge side only)

def _np(value):
    return value.detach().cpu().double().numpy()


def _close(actual, expected, name, variants=(), rtol=1e-9, atol=1e-12):
    """assert_close, where ``variants`` lists (mistake id, wrong value) and an id may come twice."""
    assert_close(actual, expected, name, rtol=rtol, atol=atol, mistakes=[(m, _np(w)) for m, w in variants])


def _copy(schedule):
    """A copy of a schedule's tensors, so that a change the student's code makes stays its own."""
    return {key: value.clone() for key, value in schedule.items()}


def _normal(rng, *shape, device="cpu"):
    return torch.as_tensor(rng.normal(size=shape), dtype=torch.float64, device=device)


def _steps(rng, batch, T, device="cpu"):
    return torch.as_tensor(rng.integers(0, T, size=batch), device=device)


def _betas(rng, T, device="cpu"):
    """Increasing random variances in (1e-4, 0.3): any valid schedule, not only the linear one."""
    return torch.as_tensor(np.sort(rng.uniform(1e-4, 0.3, size=T)), dtype=torch.float64, device=device)


def _given(model):
    """``model``, noted as one the judge gives the student's code: train_ddpm may not return it."""
    _GIVEN.append(model)
    return model


def _denoiser(seed, device, n_classes=ddpm_support.N_CLASSES, T=T_SAMPLING):
    """A Denoiser with seeded random weights, in float64 on ``device``."""
    return _given(ddpm_support.Denoiser(n_classes=n_classes, T=T, seed=seed).to(device=device, dtype=torch.float64))


def _linear_denoiser(scale, shift, device="cpu"):
    """A Denoiser (float64) that predicts the noise scale * x_t + shift, per coordinate, at every
    step and for every class: with it the reverse process is linear, and _linear_sampler_moments
    knows what a sampler returns. Its hidden units are relu(x1), relu(-x1), relu(x2), relu(-x2),
    passed through the body unchanged; the output takes their differences."""
    model = ddpm_support.Denoiser(hidden=4, T=T_SAMPLING).double()
    scale, shift = torch.as_tensor(scale, dtype=torch.float64), torch.as_tensor(shift, dtype=torch.float64)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        model.input.weight[:, :2] = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
        for layer in (model.body[1], model.body[3]):
            layer.weight.copy_(torch.eye(4))
        model.output.weight.copy_(torch.tensor([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0]]) * scale[:, None])
        model.output.bias.copy_(shift)
    return _given(model.to(device))


def _linear_sampler_moments(schedule, scale, shift, mistake=None):
    """(mean (2,), variance (2,)) of what sample returns with _linear_denoiser(scale, shift):
    x_{t-1} = (x_t - c_t (scale x_t + shift)) / sqrt(alpha_t) + sigma_t z with c_t = beta_t /
    sqrt(1 - alpha_bar_t), from x_{T-1} ~ N(0, I), is linear in x_{T-1} and the z's. ``mistake``:
    the same for a sampler with that catalogued mistake (to name it)."""
    betas, alphas, alpha_bars, variance = (schedule[k].detach().cpu().double() for k in
                                           ("betas", "alphas", "alpha_bars", "posterior_variance"))
    scale, shift = torch.as_tensor(scale, dtype=torch.float64), torch.as_tensor(shift, dtype=torch.float64)
    noise_mean, noise_var = (0.5, 1 / 12) if mistake == "uniform_noise" else (0.0, 1.0)  # of N(0, 1) or U[0, 1)
    mean, var = torch.full((2,), noise_mean, dtype=torch.float64), torch.full((2,), noise_var, dtype=torch.float64)
    T = betas.shape[0]
    for t in range(T) if mistake == "reverse_order" else range(T - 1, -1, -1):
        c = betas[t] / (1 - (alphas[t] if mistake == "alpha_for_alpha_bar" else alpha_bars[t])).sqrt()
        root = (alpha_bars[t] if mistake == "alpha_bar_for_alpha" else alphas[t]).sqrt()
        mean, var = ((1 - c * scale) * mean - c * shift) / root, ((1 - c * scale) / root) ** 2 * var
        if t > 0:
            added = {"sigma_missing_sqrt": variance[t] ** 2, "posterior_variance": betas[t]}.get(mistake, variance[t])
            mean, var = mean + added.sqrt() * noise_mean, var + added * noise_var
    return mean, var


def _turn(rng):
    """(a 2x2 rotation, its angle in degrees): a random angle at least 40 degrees away from a
    multiple of 120, so that the three blobs of the data, turned, lie between their old places."""
    degrees = 120.0 * int(rng.integers(3)) + float(rng.choice([-1.0, 1.0])) * float(rng.uniform(40.0, 80.0))
    angle = math.radians(degrees)
    rotation = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return rotation, degrees % 360


def _turned(model, rotation):
    """A copy of the Denoiser ``model`` turned by ``rotation`` R: it predicts R eps(R^T x_t, t, c),
    the noise of the data turned by R (the noise is isotropic), so its samples are R times those of
    ``model``. The parameters that meet x_t and the output's are turned, the others copied."""
    copy = ddpm_support.Denoiser(**model.config).to(dtype=model.output.weight.dtype)
    copy.load_state_dict(model.state_dict())
    turn = rotation.to(dtype=copy.output.weight.dtype)
    with torch.no_grad():
        dims = copy.dims
        copy.input.weight[:, :dims] = copy.input.weight[:, :dims] @ turn.T
        copy.output.weight.copy_(turn @ copy.output.weight)
        copy.output.bias.copy_(turn @ copy.output.bias)
    return copy.eval()


def _shipped_denoiser(rotation, device):
    """The shipped, trained denoiser turned by ``rotation``, on ``device``."""
    return _given(_turned(ref.load_denoiser(), rotation).to(device))


def _labels(rng, batch, device="cpu"):
    return torch.as_tensor(rng.integers(0, ddpm_support.N_CLASSES, size=batch), device=device)


def _expect_schedule(value, like):
    if type(value) is not dict:
        fail(f"make_schedule should return a dict, got {describe(value)}")
    missing = [key for key in KEYS if key not in value]
    if missing:
        fail(f"the schedule has no key {', '.join(map(repr, missing))}; it needs {', '.join(KEYS)}")
    # nan is allowed here: a 0/0 in the posterior variance is reported with the mistake that made it
    return {key: expect_tensor(value[key], f'schedule["{key}"]', like, shape=like.shape, finite=False)
            for key in KEYS}


def _check_schedule(schedule, betas, where, rtol=1e-10):
    expected = ref.make_schedule(betas)
    alpha_bars, prev = expected["alpha_bars"], expected["alpha_bars_prev"]
    variants = {
        "alpha_bars": [("alpha_bar_off_by_one", prev)],
        "alpha_bars_prev": [("alpha_bar_off_by_one", torch.cat([prev[:1], prev[:-1]])),
                            ("alpha_bars_prev", alpha_bars),
                            ("alpha_bars_prev", torch.cat([alpha_bars[1:], alpha_bars[-1:]]))],
        "posterior_variance": [("posterior_variance", betas)],
    }
    for key in KEYS:
        _close(schedule[key], expected[key], f'schedule["{key}"] {where}', variants.get(key, ()),
               rtol=rtol, atol=1e-14)


def _expect_denoiser(value, name):
    if type(value) is not ddpm_support.Denoiser:
        fail(f"{name} should be a ddpm_support.Denoiser, got {describe(value)}")
    return value


def _reverse_variants(model, x_t, t, z, schedule, cond=None, w=None):
    """(mistake id, x_{t-1} that mistake gives) for the catalogued mistakes of the reverse step."""
    beta, alpha, alpha_bar = (schedule[k][t] for k in ("betas", "alphas", "alpha_bars"))
    variance = schedule["posterior_variance"][t]
    eps = ref.predicted_noise(model, x_t, t, cond, w)
    mean = (x_t - beta / (1 - alpha_bar).sqrt() * eps) / alpha.sqrt()
    noise = variance.sqrt() * z if t > 0 else 0 * z
    variants = [("alpha_for_alpha_bar", (x_t - beta / (1 - alpha).sqrt() * eps) / alpha.sqrt() + noise),
                ("alpha_bar_for_alpha", (x_t - beta / (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt() + noise),
                ("sigma_missing_sqrt", mean + (variance * z if t > 0 else 0 * z)),
                ("posterior_variance", mean + (beta.sqrt() * z if t > 0 else 0 * z)),
                ("noise_at_last_step", mean + variance.sqrt() * z)]
    if cond is not None and w is not None:
        variants += [("guidance_convention", ref.p_sample_step(model, x_t, t, z, schedule, cond, w + 1.0)),
                     ("guidance_swapped", ref.p_sample_step(model, x_t, t, z, schedule, cond, 1.0 - w))]
    return variants


def _energy_distance_or_fail(samples, data, name, limit):
    distance = ddpm_support.energy_distance(samples, data)
    if not distance <= limit:
        fail(f"{name}: the energy distance to the data is {distance:.4f}, more than {limit}; "
             "the samples do not follow the data's distribution")
    return distance


def _classes_close(samples, classes, data, labels, name, limit):
    for k in range(ddpm_support.N_CLASSES):
        _energy_distance_or_fail(samples[classes == k], data[labels == k], f"{name}, class {k}", limit)


def _own_blob_share(samples, classes, rotation):
    """The share of samples nearest to the centre of their own class, the centres turned by ``rotation``."""
    centers = torch.tensor(ddpm_support.CENTERS) @ rotation.T
    centers = centers.to(dtype=samples.dtype, device=samples.device)
    nearest = torch.cdist(samples, centers).argmin(dim=1)
    return float((nearest == classes).double().mean())


def _eval_data(rng, rotation=None, per_class=700):
    """Fresh points of the data (turned by ``rotation`` when given) and their labels, exactly
    per_class of each class, so that the distances do not vary with the share of each class in a
    random draw."""
    data, labels = ddpm_support.make_data(4 * per_class, seed=int(rng.integers(1 << 30)))
    keep = torch.cat([torch.nonzero(labels == k)[:per_class, 0] for k in range(ddpm_support.N_CLASSES)])
    data, labels = data[keep], labels[keep]
    return (data if rotation is None else data @ rotation.T.to(data.dtype)), labels


def _distance_to_a_sent_model(model):
    """The smallest relative distance between ``model``'s weights and those of a Denoiser the judge
    sent (to these tests' student, or shipped) of the same layers, the class embedding left out
    (its rows follow the number of classes)."""
    mine = {name: value.detach().cpu().double() for name, value in model.state_dict().items()}
    smallest = math.inf
    for sent in [ref.load_denoiser(), *_GIVEN]:
        theirs = {name: value.detach().cpu().double() for name, value in sent.state_dict().items()
                  if not name.startswith("class_embedding")}
        shared = sorted(theirs)
        if any(name not in mine or mine[name].shape != theirs[name].shape for name in shared):
            continue
        difference = sum(float(((mine[name] - theirs[name]) ** 2).sum()) for name in shared)
        size = sum(float((theirs[name] ** 2).sum()) for name in shared)
        smallest = min(smallest, (difference / max(size, 1e-30)) ** 0.5)
    return smallest


def _expect_trained_model(value, name):
    """The Denoiser train_ddpm returned, if it is none the judge sent."""
    model = _expect_denoiser(value, name)
    distance = _distance_to_a_sent_model(model)
    if distance < MAX_DISTANCE_TO_A_SENT_MODEL:
        fail(f"{name} returned a model whose weights are those of a model the tests gave your code "
             f"(relative distance {distance:.3g}), not one trained by this call")
    return model


def _noise_correlation(model, data, T, labels=None):
    """The correlation between the noise ``model`` predicts for data (N, D) noised at every step
    and the noise used: about 0 for an untrained network, near 1 for a trained one."""
    alpha_bars = ref.training_schedule(T, dtype=data.dtype, device=data.device)["alpha_bars"]
    t = torch.arange(data.shape[0], device=data.device) % T
    generator = torch.Generator(device=data.device).manual_seed(1)
    noise = torch.randn(data.shape, generator=generator, dtype=data.dtype, device=data.device)
    with torch.no_grad():
        predicted = model(ref.q_sample(data, t, noise, alpha_bars), t, labels)
    predicted, noise = predicted - predicted.mean(dim=0), noise - noise.mean(dim=0)
    return float((predicted * noise).sum() / (predicted.norm() * noise.norm()).clamp(min=1e-30))


def _balanced_labels(rng, n, device="cpu"):
    """n labels in a random order, each class (almost) equally often."""
    return torch.as_tensor(rng.permutation(n) % ddpm_support.N_CLASSES, device=device)


# ---------------------------------------------------------------- the schedule

def test_linear_beta_schedule_matches_reference(student, rng):
    T = int(rng.integers(20, 300))
    start, end = float(rng.uniform(1e-5, 1e-3)), float(rng.uniform(0.01, 0.05))
    betas = student.linear_beta_schedule(T, start, end)
    expected = ref.linear_beta_schedule(T, start, end)
    expect_tensor(betas, f"linear_beta_schedule({T}, {start:.3g}, {end:.3g})", expected, shape=(T,))
    assert_close(betas, expected, f"linear_beta_schedule({T}, {start:.3g}, {end:.3g})", rtol=1e-7, atol=1e-12)
    default = student.linear_beta_schedule(1000)
    expect_tensor(default, "linear_beta_schedule(1000)", expected, shape=(1000,))
    assert_close(default, ref.linear_beta_schedule(1000), "linear_beta_schedule(1000) with the default "
                 "beta_start and beta_end", rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_make_schedule_matches_reference(student, rng, device):
    betas = _betas(rng, 37, device)
    schedule = _expect_schedule(student.make_schedule(betas.clone()), betas)
    _check_schedule(schedule, betas, "for 37 random betas")
    betas32 = betas.float()
    schedule = _expect_schedule(student.make_schedule(betas32.clone()), betas32)
    _check_schedule(schedule, betas32, "for float32 betas", rtol=1e-5)


def test_schedule_of_1000_steps(student):
    like = ref.linear_beta_schedule(1000)
    schedule = _expect_schedule(student.make_schedule(student.linear_beta_schedule(1000)), like)
    expected = ref.make_schedule(like)
    assert_close(schedule["alpha_bars"][999], 4.0358e-5, "alpha_bars[999] for the default schedule, T = 1000",
                 rtol=1e-4, atol=0, mistakes={"alpha_bar_off_by_one": expected["alpha_bars"][998]})
    if float(schedule["posterior_variance"][0]) != 0.0:
        fail(f"posterior_variance[0] is {float(schedule['posterior_variance'][0]):.6g}; it should be exactly "
             "0 (alpha_bars_prev[0] = 1)", "alpha_bars_prev")
    assert_close(schedule["posterior_variance"][487], 0.0097916, "posterior_variance[487] for T = 1000",
                 rtol=1e-5, atol=0, mistakes={"posterior_variance": expected["betas"][487]})
    _check_schedule(schedule, like, "for the default schedule, T = 1000")


# ---------------------------------------------------------------- the forward process

@pytest.mark.parametrize("device", DEVICES)
def test_q_sample_matches_reference(student, rng, device):
    alpha_bars = ref.make_schedule(_betas(rng, 40, device))["alpha_bars"]
    for shape in [(9, 2), (4, 3, 5)]:
        x0, noise = _normal(rng, *shape, device=device), _normal(rng, *shape, device=device)
        t = _steps(rng, shape[0], 40, device)
        t[0] = 0
        x_t = expect_tensor(student.q_sample(x0.clone(), t.clone(), noise.clone(), alpha_bars.clone()),
                            f"q_sample(x0, t, noise, alpha_bars) for x0 of shape {shape}", x0, shape=shape)
        ab = alpha_bars[t].reshape(-1, *([1] * (len(shape) - 1)))
        previous = alpha_bars[(t - 1).clamp(min=0)].reshape(ab.shape)
        _close(x_t, ref.q_sample(x0, t, noise, alpha_bars), f"q_sample for x0 of shape {shape}",
               [("q_sample_missing_sqrt", ab * x0 + (1 - ab) * noise),
                ("q_sample_missing_sqrt", ab.sqrt() * x0 + (1 - ab) * noise),
                ("q_sample_missing_sqrt", ab * x0 + (1 - ab).sqrt() * noise),
                ("alpha_bar_off_by_one", previous.sqrt() * x0 + (1 - previous).sqrt() * noise)])


def test_q_sample_has_the_closed_form_moments(student, rng):
    alpha_bars = ref.training_schedule(T_SAMPLING)["alpha_bars"]
    points, repeats = 4, 5000
    x0 = _normal(rng, points, 2).repeat_interleave(repeats, dim=0)           # (P * R, 2)
    t = torch.as_tensor(rng.choice(T_SAMPLING, size=points, replace=False)).repeat_interleave(repeats)
    noise = _normal(rng, points * repeats, 2)
    x_t = expect_tensor(student.q_sample(x0, t, noise, alpha_bars), "q_sample(x0, t, noise, alpha_bars)",
                        x0, shape=x0.shape).reshape(points, repeats, 2)
    ab = alpha_bars[t].reshape(points, repeats, 1)[:, 0]                      # (P, 1)
    # the gate: x_t moves with the noise it is given (a q_sample with the right moments from noise of
    # its own earns nothing); a wrong factor on the noise still correlates fully
    deviation, given = x_t - x_t.mean(dim=1, keepdim=True), noise.reshape(points, repeats, 2)
    given = given - given.mean(dim=1, keepdim=True)
    correlation = (deviation * given).sum(dim=1) / (deviation.norm(dim=1) * given.norm(dim=1)).clamp(min=1e-30)
    if not bool((correlation > 0.9).all()):
        fail(f"q_sample's x_t does not follow the noise it is given: over many noises per point, the "
             f"correlation between x_t and the noise is {float(correlation.min()):.3g} (1 for "
             "sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) noise)")
    mean, variance = x_t.mean(dim=1), x_t.var(dim=1)                         # (P, 2)
    expected_mean, expected_variance = ab.sqrt() * x0[::repeats], (1 - ab).expand(points, 2)
    error = 6 * (expected_variance / repeats).sqrt()
    if not bool(((mean - expected_mean).abs() <= error).all()):
        fail("the mean of q_sample's x_t over many noises is not sqrt(alpha_bar_t) x0",
             "q_sample_missing_sqrt")
    if not bool(((variance / expected_variance - 1).abs() <= 6 * (2 / repeats) ** 0.5).all()):
        fail("the variance of q_sample's x_t over many noises is not 1 - alpha_bar_t", "q_sample_missing_sqrt")


# ---------------------------------------------------------------- the loss

@pytest.mark.parametrize("device", DEVICES)
def test_sample_timesteps_is_uniform_over_every_step(student, device):
    T, batch = 12, 6000
    like = torch.zeros(0, dtype=torch.int64, device=device)

    def draw(generator):
        """(the steps, the generator as the call left it)"""
        t, arguments, _ = call_with_arguments(student.sample_timesteps, batch, T, generator)
        return expect_tensor(t, f"sample_timesteps({batch}, {T}, generator)", like, shape=(batch,)), arguments[2]

    t, after = draw(torch.Generator(device=device).manual_seed(3))
    low, high = int(t.min()), int(t.max())
    if low < 0 or high > T - 1:
        fail(f"sample_timesteps({batch}, {T}) gave values from {low} to {high}; steps run from 0 to {T - 1}",
             "timestep_range" if high == T else None)
    counts = torch.bincount(t.cpu(), minlength=T).double()
    if low > 0 or high < T - 1 or float(counts.min()) == 0:
        fail(f"sample_timesteps({batch}, {T}) never gave step {int(counts.argmin())}; every step in 0..{T - 1} "
             "should be drawn", "timestep_range")
    chi2 = float(((counts - batch / T) ** 2 / (batch / T)).sum())
    if chi2 > 45:  # 11 degrees of freedom: a uniform draw exceeds 45 with probability < 1e-5
        fail(f"the {T} steps are not drawn uniformly (counts {counts.long().tolist()})")
    # independent draws: each of the T * T pairs of successive steps about equally often (steps
    # 0, 1, ..., T-1 over and over have perfect counts but T pairs only)
    pairs = torch.bincount((t[:-1] * T + t[1:]).cpu(), minlength=T * T).double()
    pairs_chi2 = float(((pairs - (batch - 1) / T ** 2) ** 2 / ((batch - 1) / T ** 2)).sum())
    if pairs_chi2 > 250:  # 143 degrees of freedom: mean 143, sd 17; random draws stay below 250
        fail(f"the steps are not independent draws: of the {T * T} pairs of successive steps, "
             f"{int((pairs > 0).sum())} occur (chi-square {pairs_chi2:.0f}, random draws stay below 250)")
    again, _ = draw(torch.Generator(device=device).manual_seed(3))
    if not torch.equal(again, t):
        fail("two generators with the same seed gave different steps: draw them from the generator",
             "generator_ignored")
    other, _ = draw(torch.Generator(device=device).manual_seed(4))
    if torch.equal(other, t):
        fail("two generators with different seeds gave the same steps: draw them from the generator "
             "given", "generator_ignored")
    following, _ = draw(after)
    if torch.equal(following, t):
        fail("a second call with the generator as the first call left it gave the same steps: draw from "
             "the generator itself (it advances), do not reset or copy it", "generator_ignored")


@pytest.mark.parametrize("device", DEVICES)
def test_ddpm_loss_matches_reference(student, rng, device):
    model = _denoiser(int(rng.integers(1000)), device)
    alpha_bars = ref.training_schedule(T_SAMPLING, device=device)["alpha_bars"]
    x0, noise = _normal(rng, 64, 2, device=device), _normal(rng, 64, 2, device=device)
    t = _steps(rng, 64, T_SAMPLING, device)
    for cond in (None, _labels(rng, 64, device)):
        where = "without labels" if cond is None else "with labels"
        loss = student.ddpm_loss(model, x0.clone(), t.clone(), noise.clone(), alpha_bars.clone(), cond)
        loss = expect_tensor(loss, f"ddpm_loss(model, x0, t, noise, alpha_bars) {where}", x0, shape=())
        ab = alpha_bars[t][:, None]
        predicted = model(ref.q_sample(x0, t, noise, alpha_bars), t, cond)
        unsquared = model(ab * x0 + (1 - ab) * noise, t, cond)
        _close(loss, ref.ddpm_loss(model, x0, t, noise, alpha_bars, cond), f"ddpm_loss {where}",
               [("loss_target", ((predicted - x0) ** 2).mean()),
                ("loss_sum", ((predicted - noise) ** 2).sum()),
                ("loss_sum", ((predicted - noise) ** 2).sum(dim=1).mean()),
                ("q_sample_missing_sqrt", ((unsquared - noise) ** 2).mean())], rtol=1e-8)


# ---------------------------------------------------------------- the reverse process

@pytest.mark.parametrize("device", DEVICES)
def test_guided_noise_matches_reference(student, rng, device):
    eps_cond, eps_uncond = _normal(rng, 7, 2, device=device), _normal(rng, 7, 2, device=device)
    for w in (0.0, 1.0, float(rng.uniform(1.5, 4.0))):
        eps = expect_tensor(student.guided_noise(eps_cond.clone(), eps_uncond.clone(), w),
                            f"guided_noise(eps_cond, eps_uncond, w={w:.3g})", eps_cond, shape=(7, 2))
        _close(eps, ref.guided_noise(eps_cond, eps_uncond, w), f"guided_noise with w = {w:.3g}",
               [("guidance_convention", ref.guided_noise(eps_cond, eps_uncond, w + 1.0)),
                ("guidance_swapped", ref.guided_noise(eps_uncond, eps_cond, w))])


@pytest.mark.parametrize("device", DEVICES)
def test_p_sample_step_matches_reference(student, rng, device):
    model = _denoiser(int(rng.integers(1000)), device)
    schedule = ref.training_schedule(T_SAMPLING, device=device)
    for t in (T_SAMPLING - 1, int(rng.integers(2, T_SAMPLING - 1)), 1):
        x_t, z = _normal(rng, 16, 2, device=device), _normal(rng, 16, 2, device=device)
        result = student.p_sample_step(model, x_t.clone(), t, z.clone(), _copy(schedule))
        result = expect_tensor(result, f"p_sample_step(model, x_t, t={t}, z, schedule)", x_t, shape=(16, 2))
        _close(result, ref.p_sample_step(model, x_t, t, z, schedule), f"p_sample_step at t = {t}",
               _reverse_variants(model, x_t, t, z, schedule), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("device", DEVICES)
def test_p_sample_step_adds_no_noise_at_the_last_step(student, rng, device):
    model = _denoiser(int(rng.integers(1000)), device)
    schedule = ref.training_schedule(T_SAMPLING, device=device)
    # a schedule whose variance is beta_t (not 0 at t = 0): the last step still adds no noise
    beta_variance = dict(schedule, posterior_variance=schedule["betas"].clone())
    x_t, z = _normal(rng, 16, 2, device=device), 10 * _normal(rng, 16, 2, device=device)
    for chosen, where in ((schedule, ""), (beta_variance, " with a variance of beta_t")):
        result = student.p_sample_step(model, x_t.clone(), 0, z.clone(), _copy(chosen))
        result = expect_tensor(result, "p_sample_step(model, x_t, t=0, z, schedule)", x_t, shape=(16, 2))
        _close(result, ref.p_sample_step(model, x_t, 0, z, chosen), f"p_sample_step at t = 0{where}",
               _reverse_variants(model, x_t, 0, z, chosen), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("device", DEVICES)
def test_p_sample_step_with_labels_and_guidance(student, rng, device):
    model = _denoiser(int(rng.integers(1000)), device)
    schedule = ref.training_schedule(T_SAMPLING, device=device)
    t = int(rng.integers(1, T_SAMPLING))
    x_t, z = _normal(rng, 16, 2, device=device), _normal(rng, 16, 2, device=device)
    cond = _labels(rng, 16, device)
    for w in (None, float(rng.uniform(2.0, 4.0))):
        where = "with labels" if w is None else f"with labels and guidance w = {w:.3g}"
        result = student.p_sample_step(model, x_t.clone(), t, z.clone(), _copy(schedule),
                                       cond=cond.clone(), w=w)
        result = expect_tensor(result, f"p_sample_step {where}", x_t, shape=(16, 2))
        variants = _reverse_variants(model, x_t, t, z, schedule, cond, w)
        if w is None:
            variants.append(("labels_ignored", ref.p_sample_step(model, x_t, t, z, schedule)))
        _close(result, ref.p_sample_step(model, x_t, t, z, schedule, cond, w), f"p_sample_step at t = {t} {where}",
               variants, rtol=1e-8, atol=1e-10)


# ---------------------------------------------------------------- sampling

SAMPLER_MISTAKES = ("uniform_noise", "sigma_missing_sqrt", "reverse_order", "alpha_for_alpha_bar",
                    "alpha_bar_for_alpha", "posterior_variance")


def _rounded(values):
    return [round(float(value), 4) for value in values]


def _moments_agree(mean, variance, expected_mean, expected_variance, n):
    """Whether the samples' mean and variance per coordinate are those expected, within 6 standard
    errors for n samples (the solution and the alternatives stayed within 1.9 over 5 seeds)."""
    mean_ok = (mean - expected_mean).abs() <= 6 * (expected_variance / n).sqrt()
    variance_ok = (variance / expected_variance - 1).abs() <= 6 * (2 / n) ** 0.5
    return bool(mean_ok.all() and variance_ok.all())


def test_sample_with_a_linear_model(student, rng):
    # a network that predicts the noise scale * x_t + shift: the samples' moments follow from the
    # model, so a sampler that ignores it (or returns points of the data) cannot have them
    scale, shift = rng.uniform(0.7, 1.3, size=2), rng.uniform(-0.5, 0.5, size=2)
    model = _linear_denoiser(scale, shift)
    schedule = ref.training_schedule(T_SAMPLING)
    n = 8000
    generator = torch.Generator().manual_seed(int(rng.integers(1 << 30)))
    x = student.sample(model, (n, 2), schedule, generator)
    x = expect_tensor(x, f"sample(model, ({n}, 2), schedule, generator)", schedule["betas"], shape=(n, 2))
    mean, variance = x.mean(dim=0).cpu(), x.var(dim=0).cpu()
    expected_mean, expected_variance = _linear_sampler_moments(schedule, scale, shift)
    if not _moments_agree(mean, variance, expected_mean, expected_variance, n):
        mistake = next((m for m in SAMPLER_MISTAKES if _moments_agree(
            mean, variance, *_linear_sampler_moments(schedule, scale, shift, m), n)), None)
        fail(f"with a network that predicts the noise {_rounded(scale)} * x_t + {_rounded(shift)} (per "
             f"coordinate), the samples' mean should be {_rounded(expected_mean)} and their variance "
             f"{_rounded(expected_variance)} (x <- (x - beta_t / sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_t) + "
             f"sigma_t z from x_(T-1) ~ N(0, I)); got mean {_rounded(mean)} and variance {_rounded(variance)}",
             mistake)


@pytest.mark.parametrize("device", DEVICES)
def test_sample_draws_from_the_generator(student, device):
    schedule = ref.training_schedule(T_SAMPLING, device=device)
    shape = (1000, 2)
    wide, narrow = (_linear_denoiser([scale, scale], [0.0, 0.0], device) for scale in (0.3, 1.0))

    def draw(model, generator):
        """(the samples, the generator as the call left it)"""
        x, arguments, _ = call_with_arguments(student.sample, model, shape, schedule, generator)
        return expect_tensor(x, "sample(model, (1000, 2), schedule, generator)", schedule["betas"], shape=shape), \
            arguments[3]

    first, after = draw(wide, torch.Generator(device=device).manual_seed(5))
    # the gate: the samples follow the model (draws that ignore it earn nothing here)
    ratio = float(first.std() / draw(narrow, torch.Generator(device=device).manual_seed(5))[0].std())
    if not ratio > MIN_SPREAD_RATIO:
        fail(f"sample's results do not follow the model: a network that predicts the noise 0.3 x_t should "
             f"spread the samples about 42 times as wide as one that predicts x_t; they spread {ratio:.3g} "
             f"times as wide (more than {MIN_SPREAD_RATIO} is asked before the use of the generator is checked)")
    second, _ = draw(wide, torch.Generator(device=device).manual_seed(5))
    if not torch.equal(first, second):
        fail("two generators with the same seed gave different samples: draw all the noise from the generator",
             "generator_ignored")
    other, _ = draw(wide, torch.Generator(device=device).manual_seed(6))
    if torch.equal(first, other):
        fail("two generators with different seeds gave the same samples: draw the noise from the generator "
             "given", "generator_ignored")
    following, _ = draw(wide, after)
    if torch.equal(first, following):
        fail("a second call with the generator as the first call left it gave the same samples: draw from "
             "the generator itself (it advances), do not reset or copy it", "generator_ignored")


@pytest.mark.parametrize("device", DEVICES)
def test_sample_is_close_to_the_data(student, rng, device, figures):
    rotation, degrees = _turn(rng)
    model = _shipped_denoiser(rotation, device)
    schedule = ref.training_schedule(T_SAMPLING, dtype=torch.float32, device=device)
    generator = torch.Generator(device=device).manual_seed(int(rng.integers(1 << 30)))
    x = student.sample(model, (N_SAMPLES, 2), schedule, generator)
    x = expect_tensor(x, f"sample(model, ({N_SAMPLES}, 2), schedule, generator)", schedule["betas"],
                      shape=(N_SAMPLES, 2))
    data, _ = _eval_data(rng, rotation)
    if device == "cpu":
        figures.add("your-sampler", lambda: ddpm_support.plot_samples(
            data, x, title="Your sampler, with the reference's trained denoiser"))
    _energy_distance_or_fail(x, data, f"sample() with a denoiser trained on the data turned by {degrees:.0f} "
                             "degrees (the data it is compared with)", MAX_DISTANCE)


@pytest.mark.parametrize("device", DEVICES)
def test_sample_follows_the_labels_and_the_guidance(student, rng, device):
    rotation, degrees = _turn(rng)
    model = _shipped_denoiser(rotation, device)
    schedule = ref.training_schedule(T_SAMPLING, dtype=torch.float32, device=device)
    generator = torch.Generator(device=device).manual_seed(int(rng.integers(1 << 30)))
    classes = _balanced_labels(rng, N_SAMPLES, device)
    data, labels = _eval_data(rng, rotation)
    x = student.sample(model, (N_SAMPLES, 2), schedule, generator, cond=classes.clone())
    x = expect_tensor(x, "sample(..., cond=labels)", schedule["betas"], shape=(N_SAMPLES, 2))
    _classes_close(x, classes, data, labels, f"sample(..., cond=labels) with a denoiser of the data turned by "
                   f"{degrees:.0f} degrees", MAX_CLASS_DISTANCE)
    guided = student.sample(model, (N_SAMPLES, 2), schedule, generator, cond=classes.clone(), w=3.0)
    guided = expect_tensor(guided, "sample(..., cond=labels, w=3)", schedule["betas"], shape=(N_SAMPLES, 2))
    share = _own_blob_share(guided, classes, rotation)
    if share < MIN_OWN_BLOB:
        fail(f"with guidance w = 3, only {share:.1%} of the samples are nearest to their own class's centre "
             f"(expected at least {MIN_OWN_BLOB:.0%}; the denoiser was of the data turned by {degrees:.0f} degrees)")


# ---------------------------------------------------------------- training

@pytest.fixture(scope="module")
def trainer(student):
    """The student's code in a child of its own, for the train_ddpm calls: a model trained there
    cannot be one kept from an earlier test (the shipped denoiser reaches the sampling tests)."""
    return in_a_fresh_process(student)


@pytest.fixture(scope="module")
def trained(trainer):
    """(the student's trained Denoiser, its training data and labels, the data's rotation): one
    training for the tests below, on the data turned by a random angle, so that no model made
    beforehand fits it."""
    rotation, _ = _turn(np.random.default_rng(TRAINING_DATA_SEED))
    data, labels = ddpm_support.make_data(2000, seed=TRAINING_DATA_SEED)
    data = data @ rotation.T
    model = trainer.train_ddpm(data.clone(), cond=labels.clone(), **TRAINING)
    return _expect_trained_model(model, "train_ddpm(...)"), data, labels, rotation


def test_train_ddpm_returns_a_denoiser_of_the_data(trained):
    model, data, labels, _ = trained
    wanted = dict(dims=2, n_classes=ddpm_support.N_CLASSES, T=TRAINING["T"])
    found = {key: model.config.get(key) for key in wanted}
    if found != wanted:
        fail(f"the trained Denoiser was built with {found}; expected {wanted} for 2-D data with 3 classes")
    for name, parameter in model.named_parameters():
        expect_tensor(parameter.detach(), f"the model's parameter {name}", data)
    # the gate: it predicts the noise on its training data (an untrained network does not)
    correlation = _noise_correlation(model, data, TRAINING["T"], labels)
    if not correlation >= MIN_NOISE_CORRELATION:
        fail(f"the trained Denoiser does not predict the noise on its training data: the correlation between "
             f"its prediction and the noise is {correlation:.3f} (at least {MIN_NOISE_CORRELATION} asked; about 0 "
             "for an untrained network)")


def _mean_predicted_noise(model, data, T, generator):
    """(D,): the mean of the noise the model predicts for data (N, D) noised with N(0, I) at every step.

    About 0 for a network trained on standard normal noise; about 0.3 or more for one trained on
    uniform [0, 1) noise, whose mean is 0.5."""
    alpha_bars = ref.training_schedule(T, dtype=data.dtype)["alpha_bars"]
    t = torch.arange(data.shape[0]) % T
    noise = torch.randn(data.shape, generator=generator, dtype=data.dtype)
    with torch.no_grad():
        return model(ref.q_sample(data, t, noise, alpha_bars), t).mean(dim=0)


def test_train_ddpm_samples_match_the_data(trained, rng, figures):
    model, data, labels, rotation = trained
    schedule = ref.training_schedule(TRAINING["T"], dtype=torch.float32)
    generator = torch.Generator().manual_seed(int(rng.integers(1 << 30)))
    x = ref.sample(model, (N_SAMPLES, 2), schedule, generator)
    fresh, fresh_labels = _eval_data(rng, rotation)
    figures.add("trained-samples", lambda: ddpm_support.plot_samples(
        fresh, x, title="Your trained denoiser, with the reference's sampler"))
    _, path = ref.sample(model, (8, 2), schedule, generator, keep_path=True)
    figures.add("trained-paths", lambda: ddpm_support.plot_paths(path, fresh))
    noise_mean = _mean_predicted_noise(model, data, TRAINING["T"], generator)
    if bool((noise_mean > 0.15).all()):
        fail(f"on the data noised with standard normal noise your trained network predicts noise of mean "
             f"{[round(v, 3) for v in noise_mean.tolist()]}, not 0: it learned noise that is not centred",
             "uniform_noise")
    distance = ddpm_support.energy_distance(x, fresh)
    if not distance <= MAX_TRAINED_DISTANCE:
        classes = _balanced_labels(rng, N_SAMPLES)
        conditional = ref.sample(model, (N_SAMPLES, 2), schedule, generator, cond=classes)
        per_class = max(ddpm_support.energy_distance(conditional[classes == k], fresh[fresh_labels == k])
                        for k in range(ddpm_support.N_CLASSES))
        fail(f"samples drawn without a label (the null class) from your trained denoiser are at an energy "
             f"distance of {distance:.4f} from the data, more than {MAX_TRAINED_DISTANCE}",
             "no_null_class_training" if per_class <= MAX_TRAINED_CLASS_DISTANCE else None)


def test_train_ddpm_learns_the_classes(trained, rng):
    model, _, _, rotation = trained
    schedule = ref.training_schedule(TRAINING["T"], dtype=torch.float32)
    generator = torch.Generator().manual_seed(int(rng.integers(1 << 30)))
    classes = _balanced_labels(rng, N_SAMPLES)
    data, labels = _eval_data(rng, rotation)
    x = ref.sample(model, (N_SAMPLES, 2), schedule, generator, cond=classes)
    _classes_close(x, classes, data, labels, "samples with labels from your trained denoiser",
                   MAX_TRAINED_CLASS_DISTANCE)
    guided = ref.sample(model, (N_SAMPLES, 2), schedule, generator, cond=classes, w=3.0)
    share = _own_blob_share(guided, classes, rotation)
    if share < MIN_OWN_BLOB:
        fail(f"with guidance w = 3, only {share:.1%} of the samples of your trained denoiser are nearest to "
             f"their own class's centre (expected at least {MIN_OWN_BLOB:.0%})")


@pytest.mark.parametrize("device", DEVICES)
def test_train_ddpm_without_labels_lowers_the_loss(trainer, rng, device):
    rotation, _ = _turn(rng)  # data of no model made beforehand
    data = ddpm_support.make_data(500, seed=31)[0] @ rotation.T
    data = data.to(device=device, dtype=torch.float64)
    T = 30
    model = trainer.train_ddpm(data.clone(), T=T, steps=100, lr=5e-3, batch_size=128, seed=3)
    model = _expect_trained_model(model, "train_ddpm(data, T=30, steps=100, ...) without labels")
    if model.config.get("n_classes") != 0 or model.config.get("T") != T:
        fail(f"without labels the Denoiser should have n_classes=0 and T={T}, got {model.config}")
    for name, parameter in model.named_parameters():
        expect_tensor(parameter.detach(), f"the model's parameter {name}", data)
    untrained = ddpm_support.Denoiser(**model.config).to(device=device, dtype=torch.float64)
    generator = torch.Generator(device=device).manual_seed(0)
    x0 = data[torch.randint(0, 500, (4000,), generator=generator, device=device)]
    t = torch.arange(4000, device=device) % T
    noise = torch.randn(4000, 2, generator=generator, dtype=data.dtype, device=device)
    alpha_bars = ref.training_schedule(T, device=device)["alpha_bars"]
    with torch.no_grad():
        before = float(ref.ddpm_loss(untrained, x0, t, noise, alpha_bars))
        after = float(ref.ddpm_loss(model, x0, t, noise, alpha_bars))
    # measured against the untrained network of the model's config and against predicting no noise
    # (the config's seed is the student's word; predicting 0 is not)
    baseline = min(before, float((noise ** 2).mean()))
    if not after < 0.8 * baseline:
        fail(f"after 100 steps the denoising loss is {after:.4f}, against {before:.4f} for the untrained network "
             f"and {float((noise ** 2).mean()):.4f} for predicting no noise; it should be lower than both by more "
             "than 20%")
