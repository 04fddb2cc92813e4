"""Public tests for exercise 06 (ddpm).

Run them from this folder with ``pytest``. They check known values of the schedule, q_sample,
the loss and one reverse step against the tests' own formulas, and that sampling and training
run and give what they should. The grader runs these and further hidden tests (on fresh random
inputs, and end to end: your samples must look like the data), so passing here is a good sign,
not a guarantee.
"""
import torch

from ddpm_support import N_CLASSES, Denoiser, make_data
from nnex_check import assert_close, describe, expect_tensor, fail

STUDENT_MODULE = "ddpm"
KEYS = ("betas", "alphas", "alpha_bars", "alpha_bars_prev", "posterior_variance")


def _normal(rng, *shape):
    return torch.as_tensor(rng.normal(size=shape), dtype=torch.float64)


def _schedule(T):
    """The tests' own schedule of T steps (the stretched linear one of train_ddpm), float64."""
    return _schedule_of(torch.linspace(0.1 / T, 20.0 / T, T, dtype=torch.float64))


def _schedule_of(betas):
    """The tests' own schedule for these betas (not your code)."""
    alphas = 1 - betas
    alpha_bars = torch.cumprod(alphas, 0)
    prev = torch.cat([torch.ones(1, dtype=torch.float64), alpha_bars[:-1]])
    return {"betas": betas, "alphas": alphas, "alpha_bars": alpha_bars, "alpha_bars_prev": prev,
            "posterior_variance": betas * (1 - prev) / (1 - alpha_bars)}


def _reverse_step(model, x_t, t, z, schedule, at=None, eps_at=None, factor=None, sign=-1.0, root=None, noise=None):
    """The tests' own reverse step, or that of a mistake: the schedule's betas, alphas, alpha_bars read at
    the steps of ``at`` ({key: step}), the model asked about step eps_at, the noise's factor in the mean
    (beta / sqrt(1 - alpha_bar) by default) and sign, the mean divided by ``root`` (sqrt(alpha) by
    default), and ``noise`` the added noise (sigma_t z by default)."""
    at = at or {}
    beta, alpha, alpha_bar = (schedule[key][at.get(key, t)] for key in ("betas", "alphas", "alpha_bars"))
    with torch.no_grad():
        eps = model(x_t, t if eps_at is None else eps_at)
    factor = beta / (1 - alpha_bar).sqrt() if factor is None else factor
    mean = (x_t + sign * factor * eps) / (alpha.sqrt() if root is None else root)
    if t == 0:
        return mean
    return mean + (schedule["posterior_variance"][t].sqrt() * z if noise is None else noise)


def _reverse_step_mistakes(model, x_t, t, z, schedule):
    """[(mistake id, the x_{t-1} it gives)] of p_sample_step at a step t >= 1."""
    beta, alpha, alpha_bar = (schedule[key][t] for key in ("betas", "alphas", "alpha_bars"))
    variance = schedule["posterior_variance"][t]
    step = lambda **wrong: _reverse_step(model, x_t, t, z, schedule, **wrong)  # noqa: E731
    others = [other for other in (t - 1, t + 1) if 0 <= other < len(schedule["betas"])]
    return [("alpha_for_alpha_bar", step(factor=beta / (1 - alpha).sqrt())),
            ("alpha_bar_for_alpha", step(root=alpha_bar.sqrt())),
            ("reverse_sign", step(sign=1.0)), ("reverse_sign", step(noise=-variance.sqrt() * z)),
            ("reverse_mean", step(factor=beta * (1 - alpha_bar).sqrt())),
            ("sigma_missing_sqrt", step(noise=variance * z)), ("posterior_variance", step(noise=beta.sqrt() * z)),
            *(("schedule_index", step(at={key: other})) for other in others for key in ("betas", "alphas", "alpha_bars")),
            *(("schedule_index", step(at=dict.fromkeys(("betas", "alphas", "alpha_bars"), other))) for other in others),
            *(("schedule_index", step(noise=schedule["posterior_variance"][other].sqrt() * z)) for other in others),
            *(("model_timestep", step(eps_at=other)) for other in others)]


RAISED_MISTAKES = (("random_ expects 'from' to be less than 'to'", "randint_bounds"),)


def _timesteps(student, batch, T, generator, name):
    """student.sample_timesteps(batch, T, generator); an error that shows a mistake is named."""
    try:
        return student.sample_timesteps(batch, T, generator)
    except Exception as error:
        mistake = next((mistake for pattern, mistake in RAISED_MISTAKES if pattern in str(error)), None)
        if mistake is None:
            raise
        text = str(error)[:500]  # in the grader: "sample_timesteps raised <type>: ..." already
        fail(text if text.startswith("sample_timesteps raised") else f"{name} raised {type(error).__name__}: {text}",
             mistake)


def _linear_denoiser(scale, T):
    """A Denoiser (float64) that predicts the noise scale * x_t at every step: its hidden units are
    relu(x1), relu(-x1), relu(x2), relu(-x2), passed through unchanged, and the output takes their
    differences. The smaller the scale, the less each step pulls the points in: the wider they end."""
    model = Denoiser(hidden=4, T=T).double()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        model.input.weight[:, :2] = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
        for layer in (model.body[1], model.body[3]):
            layer.weight.copy_(torch.eye(4))
        model.output.weight.copy_(scale * torch.tensor([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0]]))
    return model


def test_linear_beta_schedule_known_values(student):
    betas = student.linear_beta_schedule(5, 0.1, 0.5)
    # the values (float64 is asked, and the grader checks it, to float64 precision)
    like = torch.zeros(0, dtype=betas.dtype if getattr(betas, "dtype", None) == torch.float32 else torch.float64)
    betas = expect_tensor(betas, "linear_beta_schedule(5, 0.1, 0.5)", like, shape=(5,))
    steps = torch.diff(betas.double())
    evenly = bool(torch.allclose(steps, steps.mean().expand_as(steps), rtol=1e-6, atol=1e-15))
    if evenly and not torch.allclose(betas.double()[[0, -1]], torch.tensor([0.1, 0.5], dtype=torch.float64),
                                     rtol=1e-6, atol=0):
        fail(f"linear_beta_schedule(5, 0.1, 0.5) is evenly spaced from {float(betas[0]):.6g} to {float(betas[-1]):.6g}; "
             "it should run from beta_start = 0.1 to beta_end = 0.5, both included", "schedule_endpoints")
    assert_close(betas, [0.1, 0.2, 0.3, 0.4, 0.5], "linear_beta_schedule(5, 0.1, 0.5)")


def test_make_schedule_for_1000_steps(student):
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)  # the default schedule
    schedule = student.make_schedule(betas.clone())
    if type(schedule) is not dict or any(key not in schedule for key in KEYS):
        fail(f"make_schedule should return a dict with the keys {', '.join(KEYS)}, got {describe(schedule)}")
    right = _schedule_of(betas)
    alpha_bars = schedule["alpha_bars"]
    if type(alpha_bars) is torch.Tensor and alpha_bars.shape == (1000,) and alpha_bars.dtype == torch.float64 \
            and torch.allclose(alpha_bars, right["alpha_bars_prev"], rtol=1e-6, atol=0):
        fail(f"alpha_bars[0] is {float(alpha_bars[0]):.6g}, not alpha_0 = {float(right['alphas'][0]):.6g}: alpha_bars[t] "
             "should be the product of the alphas up to step t, alpha_t included", "alpha_bar_off_by_one")
    for key in KEYS:
        expect_tensor(schedule[key], f'schedule["{key}"]', betas, shape=(1000,))
    assert_close(schedule["alpha_bars"][999], 4.0358e-5, "alpha_bars[999] (the product of all 1000 alphas)",
                 rtol=1e-4, atol=0)
    assert_close(schedule["alpha_bars_prev"][0], 1.0, "alpha_bars_prev[0] (the empty product)")
    assert_close(schedule["posterior_variance"][0], 0.0, "posterior_variance[0]", atol=0)
    assert_close(schedule["posterior_variance"][487], 0.0097916, "posterior_variance[487]", rtol=1e-5, atol=0,
                 mistakes=[("posterior_variance", betas[487]),
                           ("posterior_variance", betas[487] * (1 - right["alpha_bars_prev"][487])
                            * (1 - right["alpha_bars"][487]))])


def test_q_sample_known_value(student):
    x0 = torch.tensor([[1.0, 2.0], [3.0, -1.0]], dtype=torch.float64)
    noise = torch.tensor([[0.5, -1.0], [2.0, 0.0]], dtype=torch.float64)
    alpha_bars = torch.tensor([0.9, 0.64], dtype=torch.float64)
    t = torch.tensor([1, 0])
    x_t = expect_tensor(student.q_sample(x0, t, noise, alpha_bars), "q_sample(x0, t, noise, alpha_bars)",
                        x0, shape=(2, 2))
    # point 0 at t = 1: 0.8 * x0 + 0.6 * noise; point 1 at t = 0: sqrt(0.9) x0 + sqrt(0.1) noise
    expected = torch.stack([0.8 * x0[0] + 0.6 * noise[0], 0.9 ** 0.5 * x0[1] + 0.1 ** 0.5 * noise[1]])
    ab = alpha_bars[t][:, None]
    one_early = alpha_bars[t - 1][:, None]  # alpha_bars[t - 1]: the index -1 wraps round to the last step
    assert_close(x_t, expected, "q_sample for alpha_bars = [0.9, 0.64]",
                 mistakes=[("q_sample_missing_sqrt", ab * x0 + (1 - ab) * noise),
                           ("q_sample_missing_sqrt", ab.sqrt() * x0 + (1 - ab) * noise),
                           ("q_sample_missing_sqrt", ab * x0 + (1 - ab).sqrt() * noise),
                           ("q_sample_sign", ab.sqrt() * x0 - (1 - ab).sqrt() * noise),
                           ("alpha_bar_off_by_one", one_early.sqrt() * x0 + (1 - one_early).sqrt() * noise)])


def test_sample_timesteps_covers_every_step(student):
    like = torch.zeros(0, dtype=torch.int64)
    t = _timesteps(student, 2000, 7, torch.Generator().manual_seed(0), "sample_timesteps(2000, 7, generator)")
    t = expect_tensor(t, "sample_timesteps(2000, 7, generator)", like, shape=(2000,))
    if sorted(set(t.tolist())) != list(range(7)):
        fail(f"sample_timesteps(2000, 7) gave the values {sorted(set(t.tolist()))}; expected each of 0..6",
             "timestep_range" if len(t) and (min(t.tolist()) < 0 or max(t.tolist()) > 6) else None)
    # random draws: all 49 pairs of successive steps occur (about 40 times each), not a pattern
    pairs = sorted(set(zip(t[:-1].tolist(), t[1:].tolist())))
    if len(pairs) < 49:
        fail(f"of the 49 pairs of successive steps only {len(pairs)} occur in 2000 draws: the steps are "
             "not drawn at random")
    other = expect_tensor(_timesteps(student, 2000, 7, torch.Generator().manual_seed(1),
                                     "sample_timesteps(2000, 7, generator)"),
                          "sample_timesteps(2000, 7, generator)", like, shape=(2000,))
    if torch.equal(other, t):
        fail("two generators with different seeds gave the same steps: draw them from the generator given",
             "generator_ignored")


def test_ddpm_loss_known_model(student, rng):
    model = Denoiser(n_classes=N_CLASSES, T=50, seed=1).double()
    schedule = _schedule(50)
    x0, noise = _normal(rng, 8, 2), _normal(rng, 8, 2)
    t = torch.as_tensor(rng.integers(0, 50, size=8))
    cond = torch.as_tensor(rng.integers(0, N_CLASSES, size=8))
    loss = expect_tensor(student.ddpm_loss(model, x0, t, noise, schedule["alpha_bars"], cond),
                         "ddpm_loss(model, x0, t, noise, alpha_bars, cond)", x0, shape=())
    ab = schedule["alpha_bars"][t][:, None]
    with torch.no_grad():
        predicted = model(ab.sqrt() * x0 + (1 - ab).sqrt() * noise, t, cond)
        x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
        mistakes = [("loss_target", ((predicted - x0) ** 2).mean()), ("loss_sum", ((predicted - noise) ** 2).sum()),
                    ("loss_sum", ((predicted - noise) ** 2).sum(dim=1).mean()),
                    ("loss_sign", ((predicted + noise) ** 2).mean()),
                    ("q_sample_missing_sqrt", ((model(ab * x0 + (1 - ab) * noise, t, cond) - noise) ** 2).mean()),
                    ("q_sample_sign", ((model(ab.sqrt() * x0 - (1 - ab).sqrt() * noise, t, cond) - noise) ** 2).mean()),
                    ("model_timestep", ((model(x_t, (t - 1).clamp(min=0), cond) - noise) ** 2).mean()),
                    ("model_timestep", ((model(x_t, (t + 1).clamp(max=49), cond) - noise) ** 2).mean())]
    assert_close(loss, ((predicted - noise) ** 2).mean(), "ddpm_loss", rtol=1e-8, mistakes=mistakes)


def test_guided_noise_weights(student, rng):
    eps_cond, eps_uncond = _normal(rng, 3, 2), _normal(rng, 3, 2)
    for w, expected in ((0.0, eps_uncond), (1.0, eps_cond), (3.0, 3 * eps_cond - 2 * eps_uncond)):
        eps = expect_tensor(student.guided_noise(eps_cond, eps_uncond, w), f"guided_noise(..., w={w})",
                            eps_cond, shape=(3, 2))
        assert_close(eps, expected, f"guided_noise with w = {w}",
                     mistakes=[("guidance_convention", eps_uncond + (w + 1) * (eps_cond - eps_uncond)),
                               ("guidance_swapped", eps_cond + w * (eps_uncond - eps_cond)),
                               ("guidance_formula", eps_uncond + w * (eps_cond + eps_uncond))])


def test_p_sample_step_known_model(student, rng):
    model = Denoiser(T=50, seed=2).double()
    schedule = _schedule(50)
    x_t, z = _normal(rng, 5, 2), _normal(rng, 5, 2)
    with torch.no_grad():
        for t in (30, 0):
            eps = model(x_t, t)
            beta, alpha, alpha_bar = schedule["betas"][t], schedule["alphas"][t], schedule["alpha_bars"][t]
            mean = (x_t - beta / (1 - alpha_bar).sqrt() * eps) / alpha.sqrt()
            expected = mean + schedule["posterior_variance"][t].sqrt() * z if t > 0 else mean
            result = expect_tensor(student.p_sample_step(model, x_t, t, z, schedule),
                                   f"p_sample_step(model, x_t, t={t}, z, schedule)", x_t, shape=(5, 2))
            assert_close(result, expected, f"p_sample_step at t = {t}", rtol=1e-8,
                         mistakes=_reverse_step_mistakes(model, x_t, t, z, schedule) if t > 0 else None)


def test_sample_shape_and_generator(student):
    schedule = _schedule(30)
    shape = (500, 2)

    def draw(model, seed):
        x = student.sample(model, shape, schedule, torch.Generator().manual_seed(seed))
        return expect_tensor(x, "sample(model, (500, 2), schedule, generator)", schedule["betas"], shape=shape)

    # the samples follow the model: predicting 0.3 x_t leaves them far wider than predicting x_t
    # (about 89 times with this schedule; 1 for a sampler that ignores the model)
    wide, narrow = _linear_denoiser(0.3, 30), _linear_denoiser(1.0, 30)
    first = draw(wide, 4)
    ratio = float(first.std() / draw(narrow, 4).std())
    if not ratio > 3:
        fail(f"with a network that predicts the noise 0.3 x_t the samples should spread far wider than with one "
             f"that predicts x_t; they spread {ratio:.3g} times as wide: the samples do not follow the model")
    if not torch.equal(first, draw(wide, 4)):
        fail("two generators with the same seed gave different samples: draw all the noise from the generator",
             "generator_ignored")
    if torch.equal(first, draw(wide, 5)):
        fail("two generators with different seeds gave the same samples: draw the noise from the generator given",
             "generator_ignored")


def test_train_ddpm_returns_a_denoiser(student):
    data, labels = make_data(500, seed=0)
    T = 30
    model = student.train_ddpm(data, T=T, steps=100, lr=5e-3, batch_size=128, seed=0, cond=labels)
    if type(model) is not Denoiser:
        fail(f"train_ddpm should return a ddpm_support.Denoiser, got {describe(model)}")
    wanted = dict(dims=2, n_classes=N_CLASSES, T=T)
    found = {key: model.config.get(key) for key in wanted}
    if found != wanted:
        fail(f"the Denoiser was built with {found}; expected {wanted}",
             "class_count" if found["n_classes"] != wanted["n_classes"] else None)
    for name, parameter in model.named_parameters():
        expect_tensor(parameter.detach(), f"the model's parameter {name}", data)
    # trained: its loss on the data is far below the untrained network's and predicting no noise
    # (about 0.13 against 1.05 and 1.0 after these 100 steps)
    generator = torch.Generator().manual_seed(0)
    t = torch.arange(500) % T
    noise = torch.randn(500, 2, generator=generator)
    alpha_bars = _schedule(T)["alpha_bars"][t][:, None].float()
    x_t = alpha_bars.sqrt() * data + (1 - alpha_bars).sqrt() * noise
    with torch.no_grad():
        after = float(((model(x_t, t, labels) - noise) ** 2).mean())
        before = float(((Denoiser(**model.config)(x_t, t, labels) - noise) ** 2).mean())
    if not after < 0.8 * min(before, float((noise ** 2).mean())):
        fail(f"after 100 steps the denoising loss on the data is {after:.4f}, against {before:.4f} for the untrained "
             f"network and {float((noise ** 2).mean()):.4f} for predicting no noise: the network was not trained")
