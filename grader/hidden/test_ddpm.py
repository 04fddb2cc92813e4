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
from contextlib import contextmanager

import numpy as np
import pytest
import torch

import ddpm_support
from nnex_check import (CheckFailed, assert_close, call_with_arguments, describe, expect_tensor, fail,
                        in_a_fresh_process, relative_error)
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
# The noise the trained network predicts against the best possible prediction (_noise_gaps): the
# mean squared difference over the steps was 0.010-0.015 for correct trainings (the solution with
# 10 seeds); see MAX_FIT_RATIO for the mistakes.
MAX_NOISE_GAP = 0.03
MAX_FIT_RATIO = 1.0
NOISE_GAP_POINTS = 400  # per step
# the training of test_train_ddpm_replaces_labels_with_probability_p_uncond
LABEL_TRAINING = dict(T=30, steps=60, lr=5e-3, batch_size=128, seed=4)
# the training of test_train_ddpm_draws_every_row_of_the_data, on two points
ROW_TRAINING = dict(T=30, steps=300, lr=5e-3, batch_size=128)
MIN_ROW_SHARE = 0.15
MIN_CLASS_SHARE = 0.6  # of samples with labels nearest to their own class's centre: about 1/3 when the labels are ignored
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


# what the student's code raised -> the mistake it shows (the message says what was raised)
RAISED_MISTAKES = (("random_ expects 'from' to be less than 'to'", "randint_bounds"),
                   ("cond should hold class indices", "class_count"))


@contextmanager
def _naming_what_it_raised():
    """Calls of the student's code whose exception, where it shows a catalogued mistake, fails the
    test with that mistake (its message kept); other exceptions pass through."""
    try:
        yield
    except CheckFailed:
        raise
    except Exception as error:
        message = str(error)
        mistake = next((mistake for pattern, mistake in RAISED_MISTAKES if pattern in message), None)
        if mistake is None:
            raise
        fail(message[:1500], mistake)


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
    if mistake == "start_from_zeros":
        var = torch.zeros(2, dtype=torch.float64)
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


def _check_schedule(schedule, betas, where, rtol=1e-10, atol=1e-14, exact=False):
    """The student's schedule for ``betas`` against the reference's for the same betas (computed in
    float64 when ``exact``)."""
    expected = ref.make_schedule(betas.double() if exact else betas)
    alpha_bars, prev = expected["alpha_bars"], expected["alpha_bars_prev"]
    variants = {
        "alpha_bars": [("alpha_bar_off_by_one", prev)],
        "alpha_bars_prev": [("alpha_bar_off_by_one", torch.cat([prev[:1], prev[:-1]])),
                            ("alpha_bars_prev", alpha_bars),
                            ("alpha_bars_prev", torch.cat([alpha_bars[1:], alpha_bars[-1:]]))],
        "posterior_variance": [("posterior_variance", betas)],
    }
    for key in KEYS:
        try:
            _close(schedule[key], expected[key], f'schedule["{key}"] {where}', variants.get(key, ()),
                   rtol=rtol, atol=atol)
        except CheckFailed as failure:
            if key == "posterior_variance" and failure.mistake != "posterior_variance":
                # the keys before it are right: what is wrong is the formula of the variance itself
                fail(f"{failure.detail}; betas, alphas, alpha_bars and alpha_bars_prev are right, so the formula "
                     "of the posterior variance is not", "posterior_variance")
            raise


def _expect_denoiser(value, name):
    if type(value) is not ddpm_support.Denoiser:
        fail(f"{name} should be a ddpm_support.Denoiser, got {describe(value)}")
    return value


def _reverse_mean(model, x_t, t, schedule, cond=None, w=None, at=None, eps_at=None, sign=-1.0):
    """The mean of the reverse step, 1/sqrt(alpha_t) (x_t - beta_t / sqrt(1 - alpha_bar_t) eps), and
    its variants: ``at`` maps "betas", "alphas", "alpha_bars" to the step each is taken at (t when
    not given; Python's wrap-round for -1), ``eps_at`` the step the model is asked about, ``sign``
    that of the noise's term."""
    at = at or {}
    beta, alpha, alpha_bar = (schedule[k][at.get(k, t)] for k in ("betas", "alphas", "alpha_bars"))
    eps = ref.predicted_noise(model, x_t, t if eps_at is None else eps_at, cond, w)
    return (x_t + sign * beta / (1 - alpha_bar).sqrt() * eps) / alpha.sqrt()


def _mean_variants(model, x_t, t, schedule, cond=None, w=None):
    """(mistake id, the mean of x_{t-1} that mistake gives) for the mean of the reverse step."""
    T = schedule["betas"].shape[0]
    beta, alpha, alpha_bar = (schedule[k][t] for k in ("betas", "alphas", "alpha_bars"))
    eps = ref.predicted_noise(model, x_t, t, cond, w)
    variants = [("alpha_for_alpha_bar", (x_t - beta / (1 - alpha).sqrt() * eps) / alpha.sqrt()),
                ("alpha_bar_for_alpha", (x_t - beta / (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()),
                ("reverse_sign", _reverse_mean(model, x_t, t, schedule, cond, w, sign=1.0))]
    others = [other for other in (t - 1, t + 1) if other < T]  # t - 1 = -1 wraps round, as an index does
    for other in others:
        variants += [("schedule_index", _reverse_mean(model, x_t, t, schedule, cond, w, at={key: other}))
                     for key in ("betas", "alphas", "alpha_bars")]
        variants += [("schedule_index", _reverse_mean(model, x_t, t, schedule, cond, w,
                                                      at=dict.fromkeys(("betas", "alphas", "alpha_bars"), other))),
                     ("model_timestep", _reverse_mean(model, x_t, t, schedule, cond, w, eps_at=other))]
    if cond is not None and w is not None:
        variants += [("guidance_convention", _reverse_mean(model, x_t, t, schedule, cond, w + 1.0)),
                     ("guidance_swapped", _reverse_mean(model, x_t, t, schedule, cond, 1.0 - w)),
                     ("guidance_ignored", _reverse_mean(model, x_t, t, schedule, cond))]
    elif cond is not None:
        variants.append(("labels_ignored", _reverse_mean(model, x_t, t, schedule)))
    return variants


def _noise_variants(t, schedule):
    """(mistake id, the factor of z that mistake gives) for the noise term of the reverse step; the
    right factor is sqrt(posterior_variance[t]) for t >= 1, 0 at t = 0."""
    T = schedule["betas"].shape[0]
    variance, beta = schedule["posterior_variance"], schedule["betas"]
    if t == 0:
        return [("noise_at_last_step", variance[0].sqrt()), ("noise_at_last_step", beta[0].sqrt())]
    variants = [("reverse_noise", torch.zeros_like(beta[t])),  # no noise at a step t >= 1 (first: at t = 1 it is also sigma_0)
                ("reverse_sign", -variance[t].sqrt()), ("sigma_missing_sqrt", variance[t]),
                ("posterior_variance", beta[t].sqrt())]
    return variants + [("schedule_index", variance[other].sqrt()) for other in (t - 1, t + 1) if other < T]


def _reverse_variants(model, x_t, t, z, schedule, cond=None, w=None):
    """(mistake id, x_{t-1} that mistake gives) for the catalogued mistakes of the reverse step: a
    wrong mean with the right noise, or the right mean with a wrong noise."""
    mean = _reverse_mean(model, x_t, t, schedule, cond, w)
    sigma = schedule["posterior_variance"][t].sqrt() if t > 0 else torch.zeros((), dtype=x_t.dtype, device=x_t.device)
    return [(mistake, wrong + sigma * z) for mistake, wrong in _mean_variants(model, x_t, t, schedule, cond, w)] + \
        [(mistake, mean + factor * z) for mistake, factor in _noise_variants(t, schedule)]


GENERIC_MISTAKES = ("sign_error", "scale_error", "transposed", "misplaced", "offset_error")


def _check_reverse_step(step, model, x_t, t, z, schedule, name, cond=None, w=None, unguided=None):
    """step(z) -> the student's x_{t-1} from x_t with the noise z. Compared with the reference's,
    naming a catalogued mistake; where none fits, a second call with 2 z splits the step into its
    mean m and the factor c of its noise, x_{t-1} = m + c z (as every step written as a mean plus
    noise is), and the part that is wrong is named. With guidance (w given), unguided(z) is the
    student's step for the same inputs without w."""
    result = step(z)
    try:
        _close(result, ref.p_sample_step(model, x_t, t, z, schedule, cond, w), name,
               _reverse_variants(model, x_t, t, z, schedule, cond, w), rtol=1e-8, atol=1e-10)
        return
    except CheckFailed as failure:
        if failure.mistake not in (None, *GENERIC_MISTAKES):
            raise
        wrong = failure
    noise = step(2 * z) - result                                                    # c z
    factor = float((noise * z).sum() / (z * z).sum())
    if not torch.allclose(noise, factor * z, rtol=1e-6, atol=1e-9):
        raise wrong  # not a mean plus a multiple of z
    mean, sigma = result - noise, float(schedule["posterior_variance"][t].sqrt()) if t > 0 else 0.0
    right_mean = _reverse_mean(model, x_t, t, schedule, cond, w)
    mean_right = torch.allclose(mean, right_mean, rtol=1e-7, atol=1e-9)
    noise_right = math.isclose(factor, sigma, rel_tol=1e-7, abs_tol=1e-10)
    if mean_right and not noise_right:
        mistake = next((m for m, f in _noise_variants(t, schedule) if math.isclose(factor, float(f), rel_tol=1e-6)),
                       "noise_at_last_step" if t == 0 else "reverse_noise")
        fail(f"{wrong.detail}; its mean is right, but it adds {factor:.6g} z, where "
             f"{'no noise' if t == 0 else f'sqrt(posterior_variance[{t}]) z = {sigma:.6g} z'} is due", mistake)
    if noise_right and not mean_right:
        mistake = next((m for m, v in _mean_variants(model, x_t, t, schedule, cond, w)
                        if torch.allclose(mean, v, rtol=1e-7, atol=1e-9)), None)
        detail = ""
        if mistake is None and w is not None:
            # with guidance: is the same step right without it? Then the guided noise is what is wrong
            plain = unguided(z)
            if torch.allclose(plain, ref.p_sample_step(model, x_t, t, z, schedule, cond), rtol=1e-8, atol=1e-10):
                mistake, detail = "guidance_formula", " (the same step without w is right: the guided noise is not)"
        fail(f"{wrong.detail}; its noise term is right ({'none' if t == 0 else f'{sigma:.6g} z'}), its mean "
             f"is not: relative error {relative_error(mean, right_mean):.3g}{detail}", mistake or "reverse_mean")
    raise wrong


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

def _expect_betas(value, name, T):
    """What linear_beta_schedule returned: a float64 tensor of shape (T,) on the CPU. A float32 one
    is the mistake float32_schedule (judged here only: the other tests take a float32 schedule)."""
    if type(value) is torch.Tensor and value.dtype != torch.float64 and value.is_floating_point():
        fail(f"{name} has dtype {value.dtype}; the schedule should be float64 (torch.linspace(..., "
             "dtype=torch.float64)): in float32 the products of many alphas lose their last digits",
             "float32_schedule" if value.dtype == torch.float32 else None)
    return expect_tensor(value, name, torch.zeros(0, dtype=torch.float64), shape=(T,))


def _check_betas(betas, T, start, end, name):
    """betas against the reference's, to float64 precision: one computed in float32 (and cast) is
    named, and so are evenly spaced values that miss an endpoint."""
    expected = ref.linear_beta_schedule(T, start, end)
    if torch.allclose(betas, expected, rtol=1e-12, atol=0):
        return
    error = relative_error(betas, expected)
    if error < 1e-6:
        fail(f"{name} agrees with the exact values only to a relative {error:.2g}: that is float32 precision "
             "(a linspace computed in float32, then cast); compute it in float64", "float32_schedule")
    steps = torch.diff(betas)
    evenly = bool(torch.allclose(steps, steps.mean().expand_as(steps), rtol=1e-6, atol=1e-15))
    if evenly and not (math.isclose(float(betas[0]), start, rel_tol=1e-9) and math.isclose(float(betas[-1]), end, rel_tol=1e-9)):
        fail(f"{name} is evenly spaced from {float(betas[0]):.6g} to {float(betas[-1]):.6g}; it should run from "
             f"beta_start = {start:.6g} to beta_end = {end:.6g}, both included", "schedule_endpoints")
    assert_close(betas, expected, name, rtol=1e-12, atol=0)


def test_linear_beta_schedule_matches_reference(student, rng):
    T = int(rng.integers(20, 300))
    start, end = float(rng.uniform(1e-5, 1e-3)), float(rng.uniform(0.01, 0.05))
    name = f"linear_beta_schedule({T}, {start:.3g}, {end:.3g})"
    _check_betas(_expect_betas(student.linear_beta_schedule(T, start, end), name, T), T, start, end, name)
    name = "linear_beta_schedule(1000) with the default beta_start and beta_end"
    _check_betas(_expect_betas(student.linear_beta_schedule(1000), name, 1000), 1000, 1e-4, 0.02, name)


@pytest.mark.parametrize("device", DEVICES)
def test_make_schedule_matches_reference(student, rng, device):
    betas = _betas(rng, 37, device)
    schedule = _expect_schedule(student.make_schedule(betas.clone()), betas)
    _check_schedule(schedule, betas, "for 37 random betas")
    betas32 = betas.float()
    schedule = _expect_schedule(student.make_schedule(betas32.clone()), betas32)
    _check_schedule(schedule, betas32, "for float32 betas", rtol=1e-5)


def test_schedule_of_1000_steps(student):
    # make_schedule of the student's own default betas, in their dtype (a float32 linear_beta_schedule
    # is judged once, by test_linear_beta_schedule_matches_reference), against the reference applied to
    # the same betas; the reference's betas where the student's are not the default schedule
    default = ref.linear_beta_schedule(1000)
    betas = student.linear_beta_schedule(1000)
    if not (type(betas) is torch.Tensor and betas.dtype in (torch.float32, torch.float64) and betas.device.type == "cpu"
            and tuple(betas.shape) == (1000,) and torch.allclose(betas.double(), default, rtol=1e-6, atol=0)):
        betas = default
    schedule = _expect_schedule(student.make_schedule(betas.clone()), betas)
    expected = ref.make_schedule(betas.double())
    if betas.dtype == torch.float64:
        _check_schedule(schedule, betas, "for the default schedule, T = 1000")
    else:  # float32 products of 1000 factors: compared with the exact ones of the same betas
        _check_schedule(schedule, betas, "for the default schedule in float32, T = 1000", rtol=1e-4, atol=1e-7,
                        exact=True)
    assert_close(schedule["alpha_bars"][999], 4.0358e-5, "alpha_bars[999] for the default schedule, T = 1000",
                 rtol=1e-4, atol=0, mistakes={"alpha_bar_off_by_one": expected["alpha_bars"][998]})
    if float(schedule["posterior_variance"][0]) != 0.0:
        prev = float(schedule["alpha_bars_prev"][0])
        fail(f"posterior_variance[0] is {float(schedule['posterior_variance'][0]):.6g}; it should be exactly "
             f"0 (with alpha_bars_prev[0] = 1, here {prev:.6g})", "alpha_bars_prev" if prev != 1.0 else "posterior_variance")
    assert_close(schedule["posterior_variance"][487], 0.0097916, "posterior_variance[487] for T = 1000",
                 rtol=1e-5, atol=0, mistakes={"posterior_variance": expected["betas"][487]})


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
        variants = [("q_sample_missing_sqrt", ab * x0 + (1 - ab) * noise),
                    ("q_sample_missing_sqrt", ab.sqrt() * x0 + (1 - ab) * noise),
                    ("q_sample_missing_sqrt", ab * x0 + (1 - ab).sqrt() * noise),
                    ("q_sample_sign", ab.sqrt() * x0 - (1 - ab).sqrt() * noise)]
        # alpha_bars[t - 1]: at t = 0 clamped, or wrapped round to the last step as Python's index -1 does;
        # alpha_bars[t + 1] where no step is the last
        shifted = [(t - 1).clamp(min=0), (t - 1) % 40] + ([t + 1] if int(t.max()) < 39 else [])
        variants += [("alpha_bar_off_by_one", other.sqrt() * x0 + (1 - other).sqrt() * noise)
                     for other in (alpha_bars[steps].reshape(ab.shape) for steps in shifted)]
        _close(x_t, ref.q_sample(x0, t, noise, alpha_bars), f"q_sample for x0 of shape {shape}", variants)


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
             "sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) noise)",
             "q_sample_sign" if bool((correlation < -0.9).all()) else None)
    mean, variance = x_t.mean(dim=1), x_t.var(dim=1)                         # (P, 2)
    steps = t.reshape(points, repeats)[:, 0]

    def agrees(a, b):
        """whether the moments are those of a x0 + b noise, a and b (P, 1): within 6 standard errors"""
        mean_ok = ((mean - a * x0[::repeats]).abs() <= 6 * (b ** 2 / repeats).sqrt()).all()
        return bool(mean_ok and ((variance / b ** 2 - 1).abs() <= 6 * (2 / repeats) ** 0.5).all())

    if not agrees(ab.sqrt(), (1 - ab).sqrt()):
        shifted = [alpha_bars[other][:, None] for other in ((steps - 1).clamp(min=0), steps - 1, (steps + 1).clamp(max=T_SAMPLING - 1))]
        forms = [("q_sample_missing_sqrt", ab, 1 - ab), ("q_sample_missing_sqrt", ab.sqrt(), 1 - ab),
                 ("q_sample_missing_sqrt", ab, (1 - ab).sqrt()),
                 *(("alpha_bar_off_by_one", other.sqrt(), (1 - other).sqrt()) for other in shifted)]
        fail(f"the mean and the variance of q_sample's x_t over many noises per point are not sqrt(alpha_bar_t) x0 "
             f"and 1 - alpha_bar_t (steps {steps.tolist()}: means {_rounded(mean.flatten())}, expected "
             f"{_rounded((ab.sqrt() * x0[::repeats]).flatten())}; variances {_rounded(variance.flatten())}, expected "
             f"{_rounded((1 - ab).flatten())})", next((m for m, a, b in forms if agrees(a, b)), None))


# ---------------------------------------------------------------- the loss

@pytest.mark.parametrize("device", DEVICES)
def test_sample_timesteps_is_uniform_over_every_step(student, device):
    T, batch = 12, 6000
    like = torch.zeros(0, dtype=torch.int64, device=device)

    def draw(generator):
        """(the steps, the generator as the call left it)"""
        with _naming_what_it_raised():
            t, arguments, _ = call_with_arguments(student.sample_timesteps, batch, T, generator)
        return expect_tensor(t, f"sample_timesteps({batch}, {T}, generator)", like, shape=(batch,)), arguments[2]

    t, after = draw(torch.Generator(device=device).manual_seed(3))
    low, high = int(t.min()), int(t.max())
    if low < 0 or high > T - 1:
        fail(f"sample_timesteps({batch}, {T}) gave values from {low} to {high}; steps run from 0 to {T - 1}",
             "timestep_range")
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
        minus = model(ab.sqrt() * x0 - (1 - ab).sqrt() * noise, t, cond)
        x_t = ref.q_sample(x0, t, noise, alpha_bars)
        _close(loss, ref.ddpm_loss(model, x0, t, noise, alpha_bars, cond), f"ddpm_loss {where}",
               [("loss_target", ((predicted - x0) ** 2).mean()),
                ("loss_sum", ((predicted - noise) ** 2).sum()),
                ("loss_sum", ((predicted - noise) ** 2).sum(dim=1).mean()),
                ("loss_sign", ((predicted + noise) ** 2).mean()),
                ("q_sample_missing_sqrt", ((unsquared - noise) ** 2).mean()),
                ("q_sample_sign", ((minus - noise) ** 2).mean()),
                ("model_timestep", ((model(x_t, t - 1, cond) - noise) ** 2).mean()),
                ("model_timestep", ((model(x_t, t + 1, cond) - noise) ** 2).mean())], rtol=1e-8)


# ---------------------------------------------------------------- the reverse process

@pytest.mark.parametrize("device", DEVICES)
def test_guided_noise_matches_reference(student, rng, device):
    eps_cond, eps_uncond = _normal(rng, 7, 2, device=device), _normal(rng, 7, 2, device=device)
    for w in (0.0, 1.0, float(rng.uniform(1.5, 4.0))):
        eps = expect_tensor(student.guided_noise(eps_cond.clone(), eps_uncond.clone(), w),
                            f"guided_noise(eps_cond, eps_uncond, w={w:.3g})", eps_cond, shape=(7, 2))
        try:
            _close(eps, ref.guided_noise(eps_cond, eps_uncond, w), f"guided_noise with w = {w:.3g}",
                   [("guidance_convention", ref.guided_noise(eps_cond, eps_uncond, w + 1.0)),
                    ("guidance_swapped", ref.guided_noise(eps_uncond, eps_cond, w))])
        except CheckFailed as failure:
            if failure.mistake not in (None, *GENERIC_MISTAKES):
                raise
            # one line, and its result is wrong: the formula is
            fail(failure.detail, "guidance_formula")


@pytest.mark.parametrize("device", DEVICES)
def test_p_sample_step_matches_reference(student, rng, device):
    model = _denoiser(int(rng.integers(1000)), device)
    schedule = ref.training_schedule(T_SAMPLING, device=device)
    for t in (T_SAMPLING - 1, int(rng.integers(2, T_SAMPLING - 1)), 1):
        x_t, z = _normal(rng, 16, 2, device=device), _normal(rng, 16, 2, device=device)

        def step(noise, t=t, x_t=x_t):
            result = student.p_sample_step(model, x_t.clone(), t, noise.clone(), _copy(schedule))
            return expect_tensor(result, f"p_sample_step(model, x_t, t={t}, z, schedule)", x_t, shape=(16, 2))

        _check_reverse_step(step, model, x_t, t, z, schedule, f"p_sample_step at t = {t}")


@pytest.mark.parametrize("device", DEVICES)
def test_p_sample_step_adds_no_noise_at_the_last_step(student, rng, device):
    model = _denoiser(int(rng.integers(1000)), device)
    schedule = ref.training_schedule(T_SAMPLING, device=device)
    # a schedule whose variance is beta_t (not 0 at t = 0): the last step still adds no noise
    beta_variance = dict(schedule, posterior_variance=schedule["betas"].clone())
    x_t, z = _normal(rng, 16, 2, device=device), 10 * _normal(rng, 16, 2, device=device)
    for chosen, where in ((schedule, ""), (beta_variance, " with a variance of beta_t")):
        def step(noise, chosen=chosen):
            result = student.p_sample_step(model, x_t.clone(), 0, noise.clone(), _copy(chosen))
            return expect_tensor(result, "p_sample_step(model, x_t, t=0, z, schedule)", x_t, shape=(16, 2))

        _check_reverse_step(step, model, x_t, 0, z, chosen, f"p_sample_step at t = 0{where}")


@pytest.mark.parametrize("device", DEVICES)
def test_p_sample_step_with_labels_and_guidance(student, rng, device):
    model = _denoiser(int(rng.integers(1000)), device)
    schedule = ref.training_schedule(T_SAMPLING, device=device)
    t = int(rng.integers(1, T_SAMPLING))
    x_t, z = _normal(rng, 16, 2, device=device), _normal(rng, 16, 2, device=device)
    cond = _labels(rng, 16, device)
    for w in (None, float(rng.uniform(2.0, 4.0))):
        where = "with labels" if w is None else f"with labels and guidance w = {w:.3g}"

        def step(noise, w=w, where=where):
            result = student.p_sample_step(model, x_t.clone(), t, noise.clone(), _copy(schedule),
                                           cond=cond.clone(), w=w)
            return expect_tensor(result, f"p_sample_step {where}", x_t, shape=(16, 2))

        _check_reverse_step(step, model, x_t, t, z, schedule, f"p_sample_step at t = {t} {where}", cond, w,
                            unguided=lambda noise: step(noise, None, "with labels"))


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
    # model, so a sampler that ignores it (or returns points of the data) cannot have them. With a
    # scale near 1 the reverse process forgets where it started; with a small one (the second
    # network) it remembers: x_(T-1) ~ N(0, I) leaves about 294 times the variance of one step, a
    # start from 0 about 174 times
    schedule = ref.training_schedule(T_SAMPLING)
    n = 8000
    generator = torch.Generator().manual_seed(int(rng.integers(1 << 30)))
    seen = []  # (scale, shift, mean, variance) of each network so far: a mistake is named when it fits them all
    for scale, shift in ((rng.uniform(0.7, 1.3, size=2), rng.uniform(-0.5, 0.5, size=2)),
                         (rng.uniform(0.28, 0.32, size=2), rng.uniform(-0.5, 0.5, size=2))):
        model = _linear_denoiser(scale, shift)
        x = student.sample(model, (n, 2), schedule, generator)
        x = expect_tensor(x, f"sample(model, ({n}, 2), schedule, generator)", schedule["betas"], shape=(n, 2))
        mean, variance = x.mean(dim=0).cpu(), x.var(dim=0).cpu()
        seen.append((scale, shift, mean, variance))
        expected_mean, expected_variance = _linear_sampler_moments(schedule, scale, shift)
        if not _moments_agree(mean, variance, expected_mean, expected_variance, n):
            mistake = next((m for m in (*SAMPLER_MISTAKES, "start_from_zeros") if all(_moments_agree(
                observed_mean, observed_variance, *_linear_sampler_moments(schedule, s, h, m), n)
                for s, h, observed_mean, observed_variance in seen)), None)
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
    with _naming_what_it_raised():
        model = trainer.train_ddpm(data.clone(), cond=labels.clone(), **TRAINING)
    return _expect_trained_model(model, "train_ddpm(...)"), data, labels, rotation


def test_train_ddpm_returns_a_denoiser_of_the_data(trained):
    model, data, labels, _ = trained
    wanted = dict(dims=2, n_classes=ddpm_support.N_CLASSES, T=TRAINING["T"])
    found = {key: model.config.get(key) for key in wanted}
    if found != wanted:
        fail(f"the trained Denoiser was built with {found}; expected {wanted} for 2-D data with 3 classes",
             "class_count" if found["n_classes"] != wanted["n_classes"] else None)
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


def _expect_lower_loss(model, data, T, when, labels=None):
    """The gate of a training: the denoising loss of ``model`` on ``data`` (noised at every step, with
    the labels when given) is lower by more than 20% than both the untrained network's of its config
    and that of predicting no noise (the config's seed is the student's word; predicting 0 is not).
    The data are noised as train_ddpm should and as a train_ddpm with a catalogued mistake does
    (_training_processes): the best counts, as the mistake is charged by the test of the noise."""
    device = data.device
    untrained = ddpm_support.Denoiser(**model.config).to(device=device, dtype=data.dtype)
    generator = torch.Generator(device=device).manual_seed(0)
    rows = torch.randint(0, data.shape[0], (4000,), generator=generator, device=device)
    t = torch.arange(4000, device=device) % T
    noise = torch.randn(4000, 2, generator=generator, dtype=data.dtype, device=device)
    cond = None if labels is None else labels[rows]
    losses = []
    for a, b in _training_processes(T).values():
        a, b = (v.to(dtype=data.dtype, device=device)[t][:, None] for v in (a, b))
        x_t = a * data[rows] + b * noise
        with torch.no_grad():
            losses.append((float(((model(x_t, t, cond) - noise) ** 2).mean()),
                           float(((untrained(x_t, t, cond) - noise) ** 2).mean())))
    after, before = min(losses, key=lambda pair: pair[0] / min(pair[1], float((noise ** 2).mean())))
    baseline = min(before, float((noise ** 2).mean()))
    if not after < 0.8 * baseline:
        fail(f"{when} the denoising loss is {after:.4f}, against {before:.4f} for the untrained network "
             f"and {float((noise ** 2).mean()):.4f} for predicting no noise; it should be lower than both by more "
             "than 20%")


def _forward(alpha_bars):
    """(a (T,), b (T,)) of the forward process x_t = a_t x0 + b_t eps that ``alpha_bars`` make."""
    return alpha_bars.sqrt(), (1 - alpha_bars).sqrt()


def _training_processes(T):
    """{description: (a, b)}: the forward process train_ddpm should train the network on first, then
    those a train_ddpm with a catalogued mistake trains it on (float64)."""
    betas = ref.linear_beta_schedule(T, 0.1 / T, 20.0 / T)
    right = ref.make_schedule(betas)["alpha_bars"]
    return {"the alpha_bars of make_schedule(linear_beta_schedule(T, 0.1 / T, 20 / T))": _forward(right),
            "alpha_t (one step's factor) in place of alpha_bar_t": _forward(1.0 - betas),
            "the default schedule linear_beta_schedule(T) (1e-4 to 0.02, not stretched to T steps)":
                _forward(ref.make_schedule(ref.linear_beta_schedule(T))["alpha_bars"]),
            "alpha_bar_(t-1) (one step late) in place of alpha_bar_t": _forward(torch.cat([right.new_ones(1), right[:-1]])),
            "a first variance ten times as large (linear_beta_schedule(T, 1 / T, 20 / T))":
                _forward(ref.make_schedule(ref.linear_beta_schedule(T, 1.0 / T, 20.0 / T))["alpha_bars"])}


def _own_processes(student, T):
    """The forward processes that the student's own make_schedule and q_sample make where they have
    a catalogued mistake (which their tests charge): a network trained through them is judged
    against what they compute too, so that their mistake costs only their own tests. Only catalogued
    forms count (each needs a network really trained to fit it); anything else the student's code
    returns or raises here changes nothing."""
    betas = ref.linear_beta_schedule(T, 0.1 / T, 20.0 / T)
    right = ref.make_schedule(betas)["alpha_bars"]
    schedules = [right]
    try:
        own = student.make_schedule(betas.clone())["alpha_bars"]
        previous = torch.cat([right.new_ones(1), right[:-1]])
        if type(own) is torch.Tensor and own.shape == right.shape and torch.allclose(own.double(), previous, rtol=1e-8):
            schedules.append(previous)
    except Exception:  # noqa: BLE001 - the student's code: what it raises is judged by the schedule's tests
        pass
    processes = []
    steps = torch.arange(T)
    for alpha_bars in schedules:
        earlier = [alpha_bars[(steps - 1).clamp(min=0)], alpha_bars[steps - 1]]  # alpha_bars[t - 1], clamped or wrapped
        forms = [_forward(alpha_bars), (alpha_bars, 1 - alpha_bars), (alpha_bars.sqrt(), 1 - alpha_bars),
                 (alpha_bars, (1 - alpha_bars).sqrt()), (alpha_bars.sqrt(), -(1 - alpha_bars).sqrt()),
                 *(_forward(other) for other in earlier)]
        try:
            ones, zeros = torch.ones(T, 1, dtype=torch.float64), torch.zeros(T, 1, dtype=torch.float64)
            a = student.q_sample(ones, steps.clone(), zeros.clone(), alpha_bars.clone())
            b = student.q_sample(zeros.clone(), steps.clone(), ones.clone(), alpha_bars.clone())
            if not all(type(v) is torch.Tensor and tuple(v.shape) == (T, 1) for v in (a, b)):
                continue
            a, b = a[:, 0].double(), b[:, 0].double()
        except Exception:  # noqa: BLE001 - judged by q_sample's tests
            continue
        processes += [form for form in forms if torch.allclose(a, form[0], rtol=1e-8, atol=1e-12)
                      and torch.allclose(b, form[1], rtol=1e-8, atol=1e-12)]
    return processes


def _noise_gaps(model, process, rotation, seed, per_step=NOISE_GAP_POINTS):
    """{"with labels": (T,), "without labels": (T,)}: per step t, the mean squared difference (per
    coordinate) between the noise ``model`` predicts for x_t = a_t x0 + b_t eps, (a, b) = process,
    and the best possible prediction E[eps | x_t] for x0 drawn from the data's mixture (make_data's
    blobs turned by ``rotation``), given the class and without it. For one blob of centre mu and
    spread s, E[eps | x_t] = b (x_t - a mu) / (a^2 s^2 + b^2); without the class, the blobs'
    predictions weighted by how likely each blob made x_t."""
    dtype = model.output.weight.dtype
    a, b = (value.double() for value in process)
    T = a.shape[0]
    generator = torch.Generator().manual_seed(seed)
    centers = torch.tensor(ddpm_support.CENTERS, dtype=torch.float64) @ rotation.T.double()        # (K, 2)
    t = torch.arange(T).repeat_interleave(per_step)                                                # (B,)
    labels = torch.arange(T * per_step) % centers.shape[0]                                         # (B,)
    x0 = centers[labels] + ddpm_support.SPREAD * torch.randn(T * per_step, 2, generator=generator, dtype=torch.float64)
    noise = torch.randn(T * per_step, 2, generator=generator, dtype=torch.float64)
    a, b = a[t][:, None], b[t][:, None]                                                            # (B, 1)
    x_t = a * x0 + b * noise
    variance = a ** 2 * ddpm_support.SPREAD ** 2 + b ** 2                                          # (B, 1)
    offsets = x_t[:, None, :] - a[:, None, :] * centers[None]                                      # (B, K, 2)
    weights = torch.softmax(-(offsets ** 2).sum(dim=2) / (2 * variance), dim=1)                    # (B, K)
    best = {"with labels": offsets[torch.arange(T * per_step), labels],
            "without labels": (weights[:, :, None] * offsets).sum(dim=1)}
    gaps = {}
    with torch.no_grad():
        for head, cond in (("with labels", labels), ("without labels", None)):
            predicted = model(x_t.to(dtype), t, cond).double()
            gaps[head] = ((predicted - b * best[head] / variance) ** 2).mean(dim=1).reshape(T, per_step).mean(dim=1)
    return gaps


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
    share = _own_blob_share(x, classes, rotation)
    if share < MIN_CLASS_SHARE:
        free = ref.sample(model, (N_SAMPLES, 2), schedule, generator)
        if ddpm_support.energy_distance(free, data) <= MAX_TRAINED_DISTANCE:
            fail(f"your trained denoiser samples the data well without labels, but with labels only {share:.1%} of "
                 f"the samples are nearest to their own class's centre (a third for samples that ignore the "
                 f"label; correct trainings about 100%): the network did not learn the classes", "labels_not_learned")
    _classes_close(x, classes, data, labels, "samples with labels from your trained denoiser",
                   MAX_TRAINED_CLASS_DISTANCE)
    guided = ref.sample(model, (N_SAMPLES, 2), schedule, generator, cond=classes, w=3.0)
    share = _own_blob_share(guided, classes, rotation)
    if share < MIN_OWN_BLOB:
        fail(f"with guidance w = 3, only {share:.1%} of the samples of your trained denoiser are nearest to "
             f"their own class's centre (expected at least {MIN_OWN_BLOB:.0%})")


def test_train_ddpm_learns_the_noise_of_every_step(student, trained, rng):
    # judged on the network itself: at every step its prediction of the noise is compared with the
    # best possible one for the data, for x_t made as train_ddpm should make it and as a train_ddpm
    # with a catalogued mistake makes it (the same x0 and noise for each). Of the network's two uses
    # (with a class, without) the one closer to the best counts, so that a mistake in the labels
    # costs only the labels' tests; and x_t made as the student's own make_schedule and q_sample make
    # it counts as right where those have a catalogued mistake (their tests charge it)
    model, _, _, rotation = trained
    seed, T = int(rng.integers(1 << 30)), TRAINING["T"]

    def gap_of(process):
        return min(_noise_gaps(model, process, rotation, seed).values(), key=lambda gap: float(gap.mean()))

    (right, process), *wrong = _training_processes(T).items()
    accepted = [process, *_own_processes(student, T)]
    right_gaps = min((gap_of(p) for p in accepted), key=lambda gap: float(gap.mean()))
    gap = float(right_gaps.mean())
    others = [(name, float(gap_of(p).mean())) for name, p in wrong
              if not any(torch.allclose(p[0], q[0]) and torch.allclose(p[1], q[1]) for q in accepted)]
    closest, closest_gap = min(others, key=lambda item: item[1])
    by_steps = ", ".join(f"{float(g):.3f}" for g in right_gaps.reshape(10, -1).mean(dim=1))
    # named only where the network fits that process well, as a correct training fits the right one
    # (a network that predicts something else entirely, such as -eps, is nearer to none)
    fits_a_wrong_process = closest_gap < MAX_FIT_RATIO * gap and closest_gap <= MAX_NOISE_GAP
    if gap > MAX_NOISE_GAP or fits_a_wrong_process:
        fail(f"your trained network predicts the noise of x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps "
             f"(with {right}) {gap:.4f} away from the best possible prediction (mean squared difference, averaged "
             f"over the steps; by steps of 5 from t = 0: {by_steps}); correct trainings with these settings stay "
             f"below {MAX_NOISE_GAP}"
             + (f". It fits x_t made with {closest} better ({closest_gap:.4f}): it was trained on the noise of "
                "other steps than the ones it is given" if fits_a_wrong_process else ""),
             "training_noise_level" if fits_a_wrong_process else None)


def test_train_ddpm_replaces_labels_with_probability_p_uncond(trainer, rng):
    # with p_uncond = 0 no label is replaced: the null class's embedding is never used, so training
    # leaves it as the network was built (Adam moves no weight whose gradient is always 0), while
    # every class's embedding moves
    rotation, _ = _turn(rng)
    data, labels = ddpm_support.make_data(600, seed=int(rng.integers(1 << 30)))
    data = data @ rotation.T
    with _naming_what_it_raised():
        model = trainer.train_ddpm(data.clone(), cond=labels.clone(), p_uncond=0.0, **LABEL_TRAINING)
    model = _expect_trained_model(model, "train_ddpm(..., p_uncond=0)")
    wanted = dict(dims=2, n_classes=ddpm_support.N_CLASSES, T=LABEL_TRAINING["T"])
    found = {key: model.config.get(key) for key in wanted}
    if found != wanted:
        fail(f"the trained Denoiser was built with {found}; expected {wanted} for 2-D data with 3 classes",
             "class_count" if found["n_classes"] != wanted["n_classes"] else None)
    # the gate: it was trained
    _expect_lower_loss(model, data, LABEL_TRAINING["T"], f"after {LABEL_TRAINING['steps']} steps with labels", labels)
    built = ddpm_support.Denoiser(**model.config).class_embedding.weight.detach().double()
    moved = (model.class_embedding.weight.detach().double() - built).abs().amax(dim=1)             # (K + 1,)
    classes, null = moved[:-1], float(moved[-1])
    if null > 0:
        fail(f"with p_uncond = 0 no label may be replaced by the null class, but the null class's embedding "
             f"moved by {null:.3g} in training (the classes' by {[round(float(m), 4) for m in classes]})"
             + ("; the labels were all replaced: the null class is for a label dropped with probability p_uncond, "
                "not kept with it" if float(classes.max()) == 0 else ""),
             "p_uncond_inverted" if float(classes.max()) == 0 else None)
    if float(classes.min()) == 0:
        fail(f"with p_uncond = 0 every label is kept, but the embedding of class {int(classes.argmin())} never "
             "changed in training: the network was not given the labels of its batches")


def test_train_ddpm_draws_every_row_of_the_data(trainer, rng):
    # two points, far apart: a network trained on both samples both (0.40-0.60 of the samples
    # nearest each, over 8 seeds of the solution); one that never draws a row (rows from 1..N, or
    # up to N - 2) samples only the other point. Rows drawn from -1..N-1, where row -1 is the last
    # one drawn twice as often, leave about 1/3 and 2/3, inside that spread: no outcome of a
    # training tells it from the right draw (a documented survivor of nnex validate)
    rotation, _ = _turn(rng)
    points = torch.tensor([[-1.5, 0.0], [1.5, 0.0]]) @ rotation.T                                   # (2, 2)
    with _naming_what_it_raised():
        model = trainer.train_ddpm(points.clone(), seed=int(rng.integers(1 << 16)), **ROW_TRAINING)
    model = _expect_trained_model(model, "train_ddpm(two points, ...)")
    generator = torch.Generator().manual_seed(int(rng.integers(1 << 30)))
    x = ref.sample(model, (3000, 2), ref.training_schedule(ROW_TRAINING["T"], dtype=torch.float32), generator)
    distances = torch.cdist(x, points)                                                                # (3000, 2)
    # the gate: the samples gather at the points (an untrained network's lie far from them)
    close = float((distances.min(dim=1).values < 0.5).double().mean())
    if close < 0.5:
        fail(f"trained on two points, your network's samples (with the reference's sampler) do not gather at them: "
             f"{close:.1%} lie within 0.5 of one (correct trainings: about 95%)")
    shares = torch.bincount(distances.argmin(dim=1), minlength=2).double() / x.shape[0]
    if float(shares.min()) < MIN_ROW_SHARE:
        fail(f"trained on two points (rows 0 and 1 of the data), your network samples them in the shares "
             f"{[round(float(s), 3) for s in shares]} (correct trainings: 0.4 to 0.6 each): it learned row "
             f"{int(shares.argmin())} {'not at all' if float(shares.min()) < 0.05 else 'too little'}",
             "rows_never_drawn" if float(shares.min()) < 0.05 else None)


@pytest.mark.parametrize("device", DEVICES)
def test_train_ddpm_without_labels_lowers_the_loss(trainer, rng, device):
    rotation, _ = _turn(rng)  # data of no model made beforehand
    data = ddpm_support.make_data(500, seed=31)[0] @ rotation.T
    data = data.to(device=device, dtype=torch.float64)
    T = 30
    with _naming_what_it_raised():
        model = trainer.train_ddpm(data.clone(), T=T, steps=100, lr=5e-3, batch_size=128, seed=3)
    model = _expect_trained_model(model, "train_ddpm(data, T=30, steps=100, ...) without labels")
    if model.config.get("n_classes") != 0 or model.config.get("T") != T:
        fail(f"without labels the Denoiser should have n_classes=0 and T={T}, got {model.config}",
             "class_count" if model.config.get("n_classes") != 0 else None)
    for name, parameter in model.named_parameters():
        expect_tensor(parameter.detach(), f"the model's parameter {name}", data)
    _expect_lower_loss(model, data, T, "after 100 steps")
