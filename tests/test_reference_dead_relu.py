"""reference/dead_relu.py agrees with the worked solution on every device and dtype, keeps its
outputs on the input's device, and agrees with the exercise's trainer on what it measures.
CUDA cases run when a GPU is present.

And the support module that the judge trains with: what crosses as a config is checked before the
judge trains with it, the trainer does what its docstring says, and the worked solution's configs
reach their targets for more seeds than the two the grader draws."""
import importlib.util
import math
import sys

import numpy as np
import pytest
import torch

from grader.manifests import load_manifests
from reference import dead_relu as ref

EXERCISE = load_manifests()["dead_relu"]
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                                 reason="no CUDA device"))]
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5}
GOOD = {"lr": 0.5, "init_scale": 0.3, "bias_init": 0.3, "activation": "relu", "epochs": 3}


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def support():
    sys.path.insert(0, str(EXERCISE.exercise_dir))  # the solution imports its support module
    try:
        yield _load("dead_relu_support", EXERCISE.exercise_dir / "dead_relu_support.py")
    finally:
        sys.path.remove(str(EXERCISE.exercise_dir))


@pytest.fixture(scope="module")
def solution(support):
    return _load("dead_relu_solution", EXERCISE.solution_file)


@pytest.fixture(scope="module")
def trained(support):
    """A network trained into a partly dead state, and the training inputs."""
    x_train, y_train, _, _ = support.load_data()
    params, _ = support.train_relu_net(x_train, y_train, lr=8.0, init_scale=1.0, bias_init=0.0,
                                       activation="relu", epochs=2, seed=3)
    return params, x_train


def on(device, dtype, value):
    return torch.as_tensor(value, dtype=dtype, device=device)


def check(result, expected, like, name):
    assert result.device == like.device, name
    tol = TOLERANCE[like.dtype]
    np.testing.assert_allclose(result.cpu().double().numpy(), expected, rtol=tol, atol=tol, err_msg=name)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("device", DEVICES)
def test_reference_matches_the_solution(solution, trained, device, dtype):
    params, x = trained
    tx = on(device, dtype, x)
    tparams = {key: on(device, dtype, value) for key, value in params.items()}
    for activation in ("relu", "leaky_relu"):
        pre = ref.hidden_pre_activations(tparams, tx, activation)
        masks = [ref.dead_unit_mask(z) for z in pre]
        assert all(m.dtype == torch.bool and m.device == tx.device for m in masks)
        expected = solution.dead_fraction(params, x, activation)
        check(ref.dead_fraction(tparams, tx, activation), np.array(expected), tx, f"dead_fraction {activation}")
        for z, mask in zip(pre, masks):
            assert mask.cpu().numpy().tolist() == solution.dead_unit_mask(z.cpu().double().numpy()).tolist()
    grid = on(device, dtype, np.linspace(-3.0, 3.0, 13).reshape(13, 1) * np.ones((1, 3)))
    out, cache = solution.leaky_relu_forward(grid.cpu().double().numpy(), 0.2)
    check(ref.leaky_relu_forward(grid, 0.2), out, grid, "leaky_relu_forward")
    dout = on(device, dtype, np.arange(39.0).reshape(13, 3))
    check(ref.leaky_relu_backward(grid, dout, 0.2), solution.leaky_relu_backward(dout.cpu().double().numpy(), cache),
          grid, "leaky_relu_backward")


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_reference_measures_what_the_trainer_trains(support, activation):
    x_train, y_train, x_val, y_val = support.load_data()
    params, _ = support.train_relu_net(x_train, y_train, lr=0.5, init_scale=0.3, bias_init=0.1,
                                       activation=activation, epochs=3, seed=1)
    assert float(ref.accuracy(params, x_val, y_val, activation)) == support.accuracy(params, x_val, y_val, activation)
    pre = ref.hidden_pre_activations(params, x_train, activation)
    assert len(pre) == 2 and all(tuple(z.shape) == (400, 32) for z in pre)


def test_leaky_relu_backward_takes_alpha_at_zero():
    x = torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64)
    assert ref.leaky_relu_backward(x, torch.ones(3, dtype=torch.float64), 0.3).tolist() == [0.3, 0.3, 1.0]


# ----------------------------------------------------------------------------- the support module

@pytest.mark.parametrize("config, words", [
    ([("lr", 0.5)], "should be a dict"),
    ({**GOOD, 3: 1}, "keys should be"),
    ({**GOOD, "seed": 0}, "should not hold a seed"),
    ({**GOOD, "momentum": 0.9}, "unknown setting(s) 'momentum'"),
    ({k: v for k, v in GOOD.items() if k != "epochs"}, "missing setting(s) 'epochs'"),
    ({**GOOD, "epochs": 10**9}, "epochs = 1000000000 is outside"),
    ({**GOOD, "epochs": 0}, "epochs = 0 is outside"),
    ({**GOOD, "epochs": 2.5}, "epochs should be a whole number"),
    ({**GOOD, "epochs": math.inf}, "epochs should be a whole number"),
    ({**GOOD, "epochs": True}, "epochs should be a whole number"),
    ({**GOOD, "lr": math.nan}, "lr = nan is outside"),
    ({**GOOD, "lr": np.float64(math.inf)}, "lr = inf is outside"),
    ({**GOOD, "lr": 0.0}, "lr = 0.0 is outside"),
    ({**GOOD, "lr": "0.1"}, "lr should be a number, got str"),
    ({**GOOD, "init_scale": -1.0}, "init_scale = -1.0 is outside"),
    ({**GOOD, "bias_init": 1e300}, "bias_init = 1e+300 is outside"),
    ({**GOOD, "bias_init": False}, "bias_init should be a number, got bool"),
    ({**GOOD, "activation": "gelu"}, "activation should be one of"),
    ({**GOOD, "activation": None}, "activation should be one of"),
])
def test_check_config_refuses_what_the_judge_must_not_train_with(support, config, words):
    with pytest.raises(ValueError) as error:
        support.check_config(config)
    assert words in str(error.value)


def test_check_config_returns_plain_values(support):
    settings = support.check_config({"lr": np.float64(0.5), "init_scale": 1, "bias_init": np.int64(-2),
                                     "activation": "leaky_relu", "epochs": 7.0})
    assert settings == {"lr": 0.5, "init_scale": 1.0, "bias_init": -2.0, "activation": "leaky_relu", "epochs": 7}
    assert [type(settings[k]) for k in ("lr", "init_scale", "bias_init", "epochs")] == [float, float, float, int]


def test_the_trainer_is_seeded_and_reports_every_epoch(support):
    x_train, y_train, _, _ = support.load_data()
    seen = []
    params, losses = support.train_relu_net(x_train, y_train, **GOOD, seed=5,
                                            on_epoch=lambda epoch, p: seen.append((epoch, p)))
    again, _ = support.train_relu_net(x_train, y_train, **GOOD, seed=5)
    assert [epoch for epoch, _ in seen] == [0, 1, 2, 3] and len(losses) == 3
    assert all(np.array_equal(params[k], again[k]) for k in params)
    assert all(np.array_equal(seen[-1][1][k], params[k]) and seen[-1][1][k] is not params[k] for k in params)
    assert {k: v.shape for k, v in params.items()} == {"W1": (2, 32), "b1": (32,), "W2": (32, 32),
                                                       "b2": (32,), "W3": (32, 1), "b3": (1,)}
    assert np.all(seen[0][1]["b1"] == GOOD["bias_init"]) and np.all(seen[0][1]["b3"] == 0)


def test_the_trainer_refuses_bad_settings(support):
    x_train, y_train, _, _ = support.load_data()
    with pytest.raises(ValueError, match="epochs = 101 is outside"):
        support.train_relu_net(x_train, y_train, **{**GOOD, "epochs": 101}, seed=0)


@pytest.mark.parametrize("seed", range(4))
def test_the_solution_configs_reach_their_targets_for_many_seeds(support, solution, seed):
    x_train, y_train, x_val, y_val = support.load_data()
    dying = solution.dying_config()
    params, _ = support.train_relu_net(x_train, y_train, **dying, seed=seed)
    assert float(ref.dead_fraction(params, x_train, dying["activation"])[0]) >= 0.6
    healthy = solution.healthy_config()
    params, _ = support.train_relu_net(x_train, y_train, **healthy, seed=seed)
    assert float(ref.dead_fraction(params, x_train, healthy["activation"]).max()) <= 0.05
    assert float(ref.accuracy(params, x_val, y_val, healthy["activation"])) >= 0.92
