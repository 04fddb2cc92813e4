"""Hostile: every function calls pytest.skip() (a skipped test must count as a failure, not a pass)."""
import functools

import pytest

BASE = "solution"


def _then_skip(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        function(*args, **kwargs)
        pytest.skip("not graded on this platform")
    return wrapper


for _name in ("sigmoid", "sigmoid_prime", "neuron_forward", "mse_loss", "neuron_gradients", "numerical_gradient",
              "gradient_descent"):
    globals()[_name] = _then_skip(globals()[_name])
