"""reference/neuron_gradient.py agrees with the worked solution on every device and dtype, and keeps
its outputs on the input's device and dtype. CUDA cases run when a GPU is present."""
import importlib.util

import numpy as np
import pytest
import torch

from grader.manifests import load_manifests
from reference import neuron_gradient as ref

EXERCISE = load_manifests()["neuron_gradient"]
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                                 reason="no CUDA device"))]
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5}


@pytest.fixture(scope="module")
def solution():
    spec = importlib.util.spec_from_file_location("neuron_solution", EXERCISE.solution_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    return rng.normal(size=(9, 4)), rng.normal(size=4), 0.3, rng.uniform(size=9)


def check(result, expected, like, name):
    assert result.device == like.device and result.dtype == like.dtype, name
    tol = TOLERANCE[like.dtype]
    np.testing.assert_allclose(result.cpu().double().numpy(), expected, rtol=tol, atol=tol, err_msg=name)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("device", DEVICES)
def test_reference_matches_the_solution(solution, data, device, dtype):
    x, w, b, y = data
    tx, tw, ty = (torch.as_tensor(v, dtype=dtype, device=device) for v in (x, w, y))
    tb = torch.tensor(b, dtype=dtype, device=device)
    z = torch.linspace(-30, 30, 13, dtype=dtype, device=device)
    check(ref.sigmoid(z), solution.sigmoid(z.cpu().double().numpy()), z, "sigmoid")
    check(ref.sigmoid_prime(z), solution.sigmoid_prime(z.cpu().double().numpy()), z, "sigmoid_prime")
    check(ref.neuron_forward(tx, tw, tb), solution.neuron_forward(x, w, b), tx, "neuron_forward")
    a = solution.neuron_forward(x, w, b)
    check(ref.mse_loss(ref.neuron_forward(tx, tw, tb), ty), np.asarray(solution.mse_loss(a, y)), tx, "mse_loss")
    dw, db = ref.neuron_gradients(tx, tw, tb, ty)
    expected_dw, expected_db = solution.neuron_gradients(x, w, b, y)
    check(dw, expected_dw, tx, "dw")
    check(db, np.asarray(expected_db), tx, "db")
    w_end, b_end, losses = ref.gradient_descent(tx, ty, tw, tb, 0.5, 6)
    expected_w, expected_b, expected_losses = solution.gradient_descent(x, y, w, b, 0.5, 6)
    check(w_end, expected_w, tx, "w after gradient descent")
    check(b_end, np.asarray(expected_b), tx, "b after gradient descent")
    check(losses, np.asarray(expected_losses), tx, "losses")
