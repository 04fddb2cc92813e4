"""reference/ddpm.py agrees with the worked solution on every device and dtype and keeps its outputs
on the input's device and dtype; the shipped denoiser still samples the data well; and the hidden
tests' distance limits separate correct samplers and trainings from broken ones, across seeds,
with the denoiser and the data turned as the hidden tests turn them; the hidden tests' linear
networks and their moments agree with the reference's sampler. CUDA cases run when a GPU is
present."""
import importlib.util
import sys

import numpy as np
import pytest
import torch

from grader.manifests import load_manifests
from reference import ddpm as ref

EXERCISE = load_manifests()["ddpm"]
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                                 reason="no CUDA device"))]
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-4}
support = ref.support()


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """These tensors are small: a second thread only adds waits, long ones on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def solution():
    return _load("ddpm_solution", EXERCISE.solution_file)


@pytest.fixture(scope="module")
def hidden():
    """The hidden tests' module, for its limits (it imports nnex_check from exercises/)."""
    sys.path.insert(0, str(EXERCISE.exercise_dir.parent))
    return _load("ddpm_hidden_tests", EXERCISE.hidden_test_file)


def check(result, expected, like, name):
    assert result.device == like.device and result.dtype == like.dtype, name
    tol = TOLERANCE[like.dtype]
    torch.testing.assert_close(result.cpu().double(), expected.cpu().double(), rtol=tol, atol=tol, msg=name)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("device", DEVICES)
def test_reference_matches_the_solution(solution, device, dtype):
    generator = torch.Generator().manual_seed(0)
    betas = ref.linear_beta_schedule(40, 0.1 / 40, 20 / 40, dtype=dtype, device=device)
    check(betas, solution.linear_beta_schedule(40, 0.1 / 40, 20 / 40), betas, "linear_beta_schedule")
    schedule, expected = ref.make_schedule(betas), solution.make_schedule(betas)
    for key, value in schedule.items():
        check(value, expected[key], betas, key)
    x0, noise = (torch.randn(16, 2, generator=generator).to(device=device, dtype=dtype) for _ in range(2))
    t = torch.randint(0, 40, (16,), generator=generator).to(device)
    labels = torch.randint(0, 3, (16,), generator=generator).to(device)
    check(ref.q_sample(x0, t, noise, schedule["alpha_bars"]),
          solution.q_sample(x0, t, noise, schedule["alpha_bars"]), x0, "q_sample")
    model = support.Denoiser(n_classes=3, T=40, seed=1).to(device=device, dtype=dtype)
    check(ref.ddpm_loss(model, x0, t, noise, schedule["alpha_bars"], labels),
          solution.ddpm_loss(model, x0, t, noise, schedule["alpha_bars"], labels), x0, "ddpm_loss")
    for step in (39, 17, 0):
        for cond, w in ((None, None), (labels, None), (labels, 2.5)):
            with torch.no_grad():
                check(ref.p_sample_step(model, x0, step, noise, schedule, cond, w),
                      solution.p_sample_step(model, x0, step, noise, schedule, cond, w), x0,
                      f"p_sample_step at t = {step}, w = {w}")
    generator = torch.Generator(device=device)
    timesteps = ref.sample_timesteps(500, 40, generator.manual_seed(2))
    assert timesteps.device == x0.device and timesteps.dtype == torch.int64
    assert torch.equal(timesteps, solution.sample_timesteps(500, 40, generator.manual_seed(2)))
    samples = ref.sample(model, (8, 2), schedule, generator.manual_seed(3), labels[:8], 2.0)
    check(samples, solution.sample(model, (8, 2), schedule, generator.manual_seed(3), labels[:8], 2.0),
          x0, "sample")


def test_the_support_adam_is_torch_adam():
    models = [support.Denoiser(n_classes=3, T=20, seed=4) for _ in range(2)]
    optimizers = [support.Adam(models[0].parameters(), lr=1e-2), torch.optim.Adam(models[1].parameters(), lr=1e-2)]
    x, t = torch.randn(32, 2), torch.randint(0, 20, (32,))
    for _ in range(5):
        for model, optimizer in zip(models, optimizers):
            optimizer.zero_grad()
            ((model(x, t) - x) ** 2).mean().backward()
            optimizer.step()
    for mine, theirs in zip(*(m.parameters() for m in models)):
        torch.testing.assert_close(mine, theirs)


def test_a_denoiser_crosses_as_its_config_and_weights():
    model = support.Denoiser(n_classes=3, T=20, seed=5).double()
    with torch.device("meta"):
        rebuilt = support.Denoiser(**model.config)
    rebuilt.load_state_dict(model.state_dict(), assign=True)
    x, t = torch.randn(4, 2, dtype=torch.float64), torch.tensor([0, 5, 10, 19])
    torch.testing.assert_close(rebuilt(x, t, torch.tensor([0, 1, 2, 3])), model(x, t, torch.tensor([0, 1, 2, 3])))


def _broken_steps():
    """Reverse steps with the catalogued mistakes that reach the samples: name -> step(model, x_t, t, z,
    schedule, cond)."""
    def reverse(alpha_in_noise=False, variance_root=True, uniform=False):
        def step(model, x, t, z, schedule, cond):
            beta, alpha, alpha_bar = (schedule[k][t] for k in ("betas", "alphas", "alpha_bars"))
            coefficient = beta / (1 - (alpha if alpha_in_noise else alpha_bar)).sqrt()
            mean = (x - coefficient * model(x, t, cond)) / alpha.sqrt()
            variance = schedule["posterior_variance"][t]
            z = torch.rand_like(z) if uniform else z
            return mean + (variance.sqrt() if variance_root else variance) * z if t > 0 else mean
        return step

    return {"alpha for alpha_bar": reverse(alpha_in_noise=True),
            "variance for sigma": reverse(variance_root=False),
            "uniform noise": reverse(uniform=True)}


@torch.no_grad()
def _run(step, model, schedule, generator, n, cond=None, order=None):
    x = torch.randn(n, 2, generator=generator)
    for t in order if order is not None else range(len(schedule["betas"]) - 1, -1, -1):
        x = step(model, x, t, torch.randn(n, 2, generator=generator), schedule, cond)
    return x


def _distances(hidden, step, model, schedule, seed, order=None, rotation=None):
    """(energy distance without labels, the largest per class with labels), as the hidden tests measure them."""
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    data, labels = hidden._eval_data(rng, rotation)
    free = _run(step, model, schedule, generator, hidden.N_SAMPLES, order=order)
    classes = hidden._balanced_labels(rng, hidden.N_SAMPLES)
    conditional = _run(step, model, schedule, generator, hidden.N_SAMPLES, classes, order)
    return (support.energy_distance(free, data),
            max(support.energy_distance(conditional[classes == k], data[labels == k]) for k in range(3)))


def test_the_shipped_denoiser_samples_the_data_and_broken_samplers_do_not(hidden):
    model = ref.load_denoiser()
    assert model.config["T"] == hidden.T_SAMPLING == ref.TEST_DENOISER_SETTINGS["T"]
    schedule = ref.training_schedule(hidden.T_SAMPLING, dtype=torch.float32)
    limits = (hidden.MAX_DISTANCE, hidden.MAX_CLASS_DISTANCE)
    broken = dict(_broken_steps(), **{"forward in time": ref.p_sample_step})
    for seed in range(2):
        good = _distances(hidden, ref.p_sample_step, model, schedule, seed)
        assert all(d < limit / 1.5 for d, limit in zip(good, limits)), f"seed {seed}: {good}"
        for name, step in broken.items():
            order = range(hidden.T_SAMPLING) if name == "forward in time" else None
            bad = _distances(hidden, step, model, schedule, seed, order)
            assert any(d > 1.3 * limit for d, limit in zip(bad, limits)), f"{name}, seed {seed}: {bad}"
    # turned as the hidden tests turn it, the denoiser samples the turned data as well, while points
    # of the published (unturned) data lie far from it
    for seed in range(2):
        rotation, degrees = hidden._turn(np.random.default_rng(seed))
        good = _distances(hidden, ref.p_sample_step, hidden._turned(model, rotation), schedule, seed,
                          rotation=rotation)
        assert all(d < limit / 1.5 for d, limit in zip(good, limits)), f"turned by {degrees}, seed {seed}: {good}"
        turned_data, _ = hidden._eval_data(np.random.default_rng(seed), rotation)
        published, _ = support.make_data(hidden.N_SAMPLES, seed=seed + 100)
        assert support.energy_distance(published, turned_data) > 10 * hidden.MAX_DISTANCE, degrees


def test_a_turned_denoiser_predicts_the_turned_noise(hidden):
    model = ref.load_denoiser().double()
    rotation, _ = hidden._turn(np.random.default_rng(3))
    turned = hidden._turned(model, rotation)
    rotation = rotation.double()
    x, t, labels = torch.randn(64, 2, dtype=torch.float64), torch.arange(64) % 50, torch.arange(64) % 4
    with torch.no_grad():
        torch.testing.assert_close(turned(x, t, labels), model(x @ rotation, t, labels) @ rotation.T)


def test_the_linear_networks_and_their_moments_agree_with_the_reference_sampler(hidden):
    """The linear networks predict scale * x_t + shift; the reference's samples have the moments
    the hidden tests expect, and every named mistake's moments lie outside the tests' limits."""
    schedule = ref.training_schedule(hidden.T_SAMPLING)
    n = 8000
    for seed in range(3):
        rng = np.random.default_rng(seed)
        scale, shift = rng.uniform(0.7, 1.3, size=2), rng.uniform(-0.5, 0.5, size=2)
        model = hidden._linear_denoiser(scale, shift)
        x = torch.randn(5, 2, dtype=torch.float64)
        with torch.no_grad():
            torch.testing.assert_close(model(x, 7), x * torch.as_tensor(scale) + torch.as_tensor(shift))
        samples = ref.sample(model, (n, 2), schedule, torch.Generator().manual_seed(seed))
        moments = hidden._linear_sampler_moments(schedule, scale, shift)
        assert hidden._moments_agree(samples.mean(dim=0), samples.var(dim=0), *moments, n), seed
        for mistake in hidden.SAMPLER_MISTAKES:
            wrong = hidden._linear_sampler_moments(schedule, scale, shift, mistake)
            assert not hidden._moments_agree(*wrong, *moments, n), (mistake, seed)
    # the spread ratio of test_sample_draws_from_the_generator: far above its limit for the reference,
    # and above it for a sampler with any one of the named mistakes (by their moments)
    wide, narrow = (hidden._linear_denoiser([s, s], [0.0, 0.0]) for s in (0.3, 1.0))
    generator = torch.Generator()
    ratio = float(ref.sample(wide, (1000, 2), schedule, generator.manual_seed(5)).std()
                  / ref.sample(narrow, (1000, 2), schedule, generator.manual_seed(5)).std())
    assert ratio > 10 * hidden.MIN_SPREAD_RATIO, ratio
    for mistake in hidden.SAMPLER_MISTAKES:
        spreads = [hidden._linear_sampler_moments(schedule, [s, s], [0.0, 0.0], mistake)[1][0] for s in (0.3, 1.0)]
        assert float((spreads[0] / spreads[1]).sqrt()) > 1.5 * hidden.MIN_SPREAD_RATIO, mistake
    # a start from zeros shows only with a network that keeps the start (the second one of
    # test_sample_with_a_linear_model): its moments lie far outside the limits there
    for scale in (0.28, 0.32):
        moments = hidden._linear_sampler_moments(schedule, [scale, scale], [0.2, -0.3])
        wrong = hidden._linear_sampler_moments(schedule, [scale, scale], [0.2, -0.3], "start_from_zeros")
        assert not hidden._moments_agree(*wrong, *moments, n) and float((wrong[1] / moments[1]).max()) < 0.7, scale


def test_a_training_with_the_hidden_settings_passes_the_hidden_limits(hidden):
    rotation, _ = hidden._turn(np.random.default_rng(1))
    data, labels = support.make_data(2000, seed=1)
    data = data @ rotation.T
    settings = dict(hidden.TRAINING, seed=11)
    model = ref.train_ddpm(data, cond=labels, **settings)
    schedule = ref.training_schedule(settings["T"], dtype=torch.float32)
    generator = torch.Generator().manual_seed(0)
    fresh, _ = support.make_data(2000, seed=2)
    distance = support.energy_distance(ref.sample(model, (1000, 2), schedule, generator), fresh @ rotation.T)
    assert distance < hidden.MAX_TRAINED_DISTANCE / 2, f"{distance:.4f}"
    # the gates of the training tests: far from the shipped denoiser, and it predicts the noise
    assert hidden._distance_to_a_sent_model(model) > 2 * hidden.MAX_DISTANCE_TO_A_SENT_MODEL
    assert hidden._noise_correlation(model, data, settings["T"], labels) > 1.5 * hidden.MIN_NOISE_CORRELATION
    untrained = support.Denoiser(**model.config)
    assert abs(hidden._noise_correlation(untrained, data, settings["T"], labels)) < hidden.MIN_NOISE_CORRELATION / 2
    # the test of the noise: the network is near the best prediction for the right noise, nearer than
    # for any catalogued mistake's; one trained with alpha_t in place of alpha_bar_t is far from it,
    # and fits the alphas best
    gaps = _noise_gaps(hidden, model, settings["T"], rotation)
    right, *wrong = gaps.values()
    assert right < hidden.MAX_NOISE_GAP / 2 and min(wrong) > 1.15 * hidden.MAX_FIT_RATIO * right, gaps
    model, optimizer, _ = ref.new_training(data, settings["T"], settings["lr"], settings["seed"], labels)
    alphas = 1 - ref.linear_beta_schedule(settings["T"], 0.1 / settings["T"], 20.0 / settings["T"], dtype=data.dtype)
    generator = torch.Generator().manual_seed(settings["seed"])
    for _ in range(settings["steps"]):
        ref.train_step(model, optimizer, data, alphas, generator, settings["batch_size"], labels, settings["p_uncond"])
    gaps = _noise_gaps(hidden, model, settings["T"], rotation)
    right, *wrong = gaps.values()
    assert right > 5 * hidden.MAX_NOISE_GAP and wrong[0] < 0.2 * right, gaps


def _noise_gaps(hidden, model, T, rotation):
    """{process: the gap of test_train_ddpm_learns_the_noise_of_every_step}: the right one first."""
    return {name: min(float(gap.mean()) for gap in hidden._noise_gaps(model, process, rotation, seed=0).values())
            for name, process in hidden._training_processes(T).items()}


def test_the_label_training_passes_its_gate_and_keeps_the_null_class(hidden):
    """test_train_ddpm_replaces_labels_with_probability_p_uncond: with p_uncond = 0 the reference's
    training leaves the null class's embedding exactly as built, moves every class's, and lowers the
    loss far below the gate's limit."""
    rotation, _ = hidden._turn(np.random.default_rng(2))
    data, labels = support.make_data(600, seed=2)
    data = data @ rotation.T
    model = ref.train_ddpm(data, cond=labels, p_uncond=0.0, **hidden.LABEL_TRAINING)
    built = support.Denoiser(**model.config).class_embedding.weight.detach()
    moved = (model.class_embedding.weight.detach() - built).abs().amax(dim=1)
    assert float(moved[-1]) == 0.0 and float(moved[:-1].min()) > 0.05, moved
    hidden._expect_lower_loss(model, data, hidden.LABEL_TRAINING["T"], "after", labels)
