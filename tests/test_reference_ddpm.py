"""reference/ddpm.py agrees with the worked solution on every device and dtype and keeps its outputs
on the input's device and dtype; the shipped denoiser still samples the data well; and the hidden
tests' distance limits separate correct samplers and trainings from broken ones, across seeds.
CUDA cases run when a GPU is present."""
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


def _distances(hidden, step, model, schedule, seed, order=None):
    """(energy distance without labels, the largest per class with labels), as the hidden tests measure them."""
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    data, labels = hidden._eval_data(rng)
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


def test_a_training_with_the_hidden_settings_passes_the_hidden_limits(hidden):
    data, labels = support.make_data(2000, seed=1)
    settings = dict(hidden.TRAINING, seed=11)
    model = ref.train_ddpm(data, cond=labels, **settings)
    schedule = ref.training_schedule(settings["T"], dtype=torch.float32)
    generator = torch.Generator().manual_seed(0)
    fresh, _ = support.make_data(2000, seed=2)
    distance = support.energy_distance(ref.sample(model, (1000, 2), schedule, generator), fresh)
    assert distance < hidden.MAX_TRAINED_DISTANCE / 2, f"{distance:.4f}"
