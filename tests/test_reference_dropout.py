"""reference/dropout.py agrees with the worked solution on every device and dtype, keeps its outputs
on the input's device and dtype, has dropout's properties, and reproduces the study's effect with
its own random numbers. CUDA cases run when a GPU is present."""
import importlib.util
import sys

import numpy as np
import pytest
import torch

from grader.manifests import load_manifests
from reference import dropout as ref

EXERCISE = load_manifests()["dropout"]
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                                 reason="no CUDA device"))]
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5}


@pytest.fixture(scope="module")
def solution():
    sys.path.insert(0, str(EXERCISE.exercise_dir))  # the solution imports dropout_support
    spec = importlib.util.spec_from_file_location("dropout_solution", EXERCISE.solution_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def support(solution):
    return sys.modules["dropout_support"]


def check(result, expected, like, name):
    assert result.device == like.device and result.dtype == like.dtype, name
    tol = TOLERANCE[like.dtype]
    np.testing.assert_allclose(result.detach().cpu().double().numpy(), expected, rtol=tol, atol=tol, err_msg=name)


def as_tensors(params, dtype, device):
    return {name: torch.as_tensor(value, dtype=dtype, device=device) for name, value in params.items()}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("device", DEVICES)
def test_network_matches_the_solution_with_the_solutions_masks(solution, device, dtype):
    rng = np.random.default_rng(4)
    sizes = [3, 6, 5, 1]
    params = {name: value for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1)
              for name, value in ((f"W{layer}", rng.normal(size=(fan_in, fan_out))),
                                  (f"b{layer}", rng.normal(scale=0.3, size=fan_out)))}
    x, dlogits = rng.normal(size=(7, 3)), rng.normal(size=7)
    tparams, tx = as_tensors(params, dtype, device), torch.as_tensor(x, dtype=dtype, device=device)
    for train in (False, True):
        logits, caches = solution.mlp_dropout_forward(params, x, 0.4, train, rng)
        masks = [cache[3] for cache in caches[:-1]] if train else None  # the solution's cache layout
        tmasks = None if masks is None else [torch.as_tensor(m, dtype=dtype, device=device) for m in masks]
        check(ref.mlp_forward(tparams, tx, tmasks), logits, tx, f"logits (train={train})")
        grads = ref.mlp_backward(tparams, tx, torch.as_tensor(dlogits, dtype=dtype, device=device), tmasks)
        expected = solution.mlp_dropout_backward(dlogits, caches)
        for name in params:
            check(grads[name], expected[name], tx, f"grads[{name}] (train={train})")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("device", DEVICES)
def test_dropout_has_the_properties_the_hidden_tests_judge(device, dtype):
    x = torch.rand(300, 200, dtype=dtype, device=device) + 0.5
    generator = torch.Generator(device=device).manual_seed(0)
    p = 0.3
    out, mask = ref.dropout(x, p, True, generator)
    assert out.dtype == dtype and out.device == x.device
    dropped = (out == 0).double().mean().item()
    assert abs(dropped - p) < 6 * (p * (1 - p) / x.numel()) ** 0.5
    kept = out != 0
    torch.testing.assert_close(out[kept], x[kept] / (1 - p))
    assert abs(out.double().mean().item() / x.double().mean().item() - 1) < 0.01
    again, _ = ref.dropout(x, p, True, generator)
    assert not torch.equal(out, again)
    torch.testing.assert_close(ref.dropout_backward(x, mask, torch.ones_like(x)), mask)
    for eval_out in (ref.dropout(x, p, False)[0], ref.dropout(x, 0.0, True, generator)[0]):
        assert torch.equal(eval_out, x)
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError):
            ref.dropout(x, bad, True, generator)


@pytest.mark.parametrize("device", DEVICES)
def test_training_without_dropout_matches_the_solution(solution, support, device):
    data = support.make_data(n_train=20, n_val=30, seed=5)
    params, history = solution.train_with_dropout(*data, p=0.0, hidden=(6, 4), epochs=10, lr=0.3, seed=2)
    params0 = support.init_params([2, 6, 4, 1], np.random.default_rng(2))
    tdata = [torch.as_tensor(a, dtype=torch.float64, device=device) for a in data]
    expected, expected_history = ref.train(*tdata, as_tensors(params0, torch.float64, device), 0.0, 10, 0.3)
    for name in params:
        check(expected[name], params[name], tdata[0], name)
    for key in history:
        check(expected_history[key], np.array(history[key]), tdata[0], key)


@pytest.fixture
def one_thread():
    """Hundreds of tiny steps: several threads only fight over the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_the_reference_shrinks_the_study_gap_with_its_own_masks(support, one_thread):
    """The study's effect is not an accident of NumPy's random numbers: torch's masks show it too."""
    data = [torch.as_tensor(a, dtype=torch.float64) for a in support.make_data()]
    settings = support.STUDY_SETTINGS
    params0 = as_tensors(support.init_params([2, *settings["hidden"], 1], np.random.default_rng(0)),
                         torch.float64, "cpu")
    gaps = {}
    for p in (0.0, 0.5):
        _, history = ref.train(*data, params0, p, settings["epochs"], settings["lr"],
                               torch.Generator().manual_seed(0))
        gaps[p] = (history["val_loss"][-1] - history["train_loss"][-1]).item()
    assert gaps[0.0] > 0.1 and gaps[0.5] < 0.6 * gaps[0.0], gaps
