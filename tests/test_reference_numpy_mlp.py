"""reference/numpy_mlp.py agrees with the worked solution on every device and dtype, keeps its
outputs on the input's device and dtype, and its Adam takes the same steps as torch.optim.Adam.
CUDA cases run when a GPU is present."""
import importlib.util

import numpy as np
import pytest
import torch

from grader.manifests import load_manifests
from reference import numpy_mlp as ref

EXERCISE = load_manifests()["numpy_mlp"]
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                                 reason="no CUDA device"))]
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-4}
SIZES = [3, 6, 4, 1]


@pytest.fixture(scope="module")
def solution():
    spec = importlib.util.spec_from_file_location("mlp_solution", EXERCISE.solution_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def data():
    rng = np.random.default_rng(11)
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(SIZES[:-1], SIZES[1:]), start=1):
        params[f"W{layer}"] = rng.normal(scale=0.7, size=(fan_in, fan_out))
        params[f"b{layer}"] = rng.normal(scale=0.3, size=fan_out)
    x = rng.normal(size=(7, 3))
    x[2] = 0.0  # with zero biases below, ReLU sees exact zeros
    y = (rng.uniform(size=7) < 0.5).astype(np.float64)
    return params, x, y, rng.normal(size=(7,))


def check(result, expected, like, name):
    assert result.device == like.device and result.dtype == like.dtype, name
    tol = TOLERANCE[like.dtype]
    np.testing.assert_allclose(result.cpu().double().numpy(), expected, rtol=tol, atol=tol, err_msg=name)


def as_tensors(params, dtype, device):
    return {k: torch.as_tensor(v, dtype=dtype, device=device) for k, v in params.items()}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("device", DEVICES)
def test_reference_layers_match_the_solution(solution, data, device, dtype):
    params, x, y, _ = data
    tx, ty = (torch.as_tensor(v, dtype=dtype, device=device) for v in (x, y))
    W, b = params["W1"], params["b1"]
    tW, tb = torch.as_tensor(W, dtype=dtype, device=device), torch.as_tensor(b, dtype=dtype, device=device)
    out, cache = solution.linear_forward(x, W, b)
    check(ref.linear_forward(tx, tW, tb), out, tx, "linear_forward")
    dout = np.ones_like(out) * np.arange(out.shape[1])
    for got, expected, name in zip(ref.linear_backward(tx, tW, tb, torch.as_tensor(dout, dtype=dtype, device=device)),
                                   solution.linear_backward(dout, cache), ("dx", "dW", "db")):
        check(got, expected, tx, name)
    z = np.array([-1.0, 0.0, 2.0, 0.0, -3.0])
    tz = torch.as_tensor(z, dtype=dtype, device=device)
    relu_out, relu_cache = solution.relu_forward(z)
    check(ref.relu_forward(tz), relu_out, tz, "relu_forward")
    check(ref.relu_backward(tz, torch.ones_like(tz)), solution.relu_backward(np.ones(5), relu_cache), tz,
          "relu_backward (0 at exactly 0)")
    logits = np.array([-1e4, -30.0, 0.0, 2.0, 1e4, 5.0, -0.5])
    loss, dlogits_expected = solution.bce_with_logits(logits, y)
    ref_loss, ref_dlogits = ref.bce_with_logits(torch.as_tensor(logits, dtype=dtype, device=device), ty)
    check(ref_loss, np.asarray(loss), tx, "bce_with_logits loss")
    check(ref_dlogits, dlogits_expected, tx, "bce_with_logits dlogits")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("device", DEVICES)
def test_reference_network_matches_the_solution(solution, data, device, dtype):
    params, x, y, dlogits = data
    params = {**params, "b1": np.zeros_like(params["b1"])}
    tparams = as_tensors(params, dtype, device)
    tx, ty, td = (torch.as_tensor(v, dtype=dtype, device=device) for v in (x, y, dlogits))
    logits, caches = solution.mlp_forward(params, x)
    check(ref.mlp_forward(tparams, tx), logits, tx, "mlp_forward")
    grads = solution.mlp_backward(dlogits, caches)
    for name, got in ref.mlp_backward(tparams, tx, td).items():
        check(got, grads[name], tx, f"mlp_backward {name}")
    loss, dlogits_of_loss = solution.bce_with_logits(logits, y)
    ref_loss, ref_grads = ref.loss_and_grads(tparams, tx, ty)
    check(ref_loss, np.asarray(loss), tx, "loss of the network")
    for name, expected in solution.mlp_backward(dlogits_of_loss, caches).items():
        check(ref_grads[name], expected, tx, f"dL/d{name}")
    check(ref.predict(tparams, tx), solution.predict(params, x), tx, "predict")
    assert ref.accuracy(tparams, tx, ty) == pytest.approx(np.mean(solution.predict(params, x) == y))


@pytest.mark.parametrize("device", DEVICES)
def test_reference_adam_is_torch_optim_adam_and_the_solution(solution, device):
    rng = np.random.default_rng(5)
    params = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    grads = [{k: rng.normal(size=v.shape) for k, v in params.items()} for _ in range(5)]
    hyper = {"lr": 0.03, "beta1": 0.8, "beta2": 0.95, "eps": 1e-3}
    history = ref.adam_steps(as_tensors(params, torch.float64, device), grads, **hyper)
    leaves = {k: torch.tensor(v, device=device, requires_grad=True) for k, v in params.items()}
    optimizer = torch.optim.Adam(leaves.values(), lr=hyper["lr"], betas=(hyper["beta1"], hyper["beta2"]),
                                 eps=hyper["eps"])
    current, state = params, {}
    for step, step_grads in enumerate(grads):
        for name, leaf in leaves.items():
            leaf.grad = torch.as_tensor(step_grads[name], device=device)
        optimizer.step()
        current, state = solution.adam_step(current, step_grads, state, **hyper)
        for name, leaf in leaves.items():
            check(history[step][name], leaf.detach().cpu().numpy(), leaf, f"step {step + 1}: {name}")
            check(history[step][name], current[name], leaf, f"step {step + 1}: {name}, solution")
