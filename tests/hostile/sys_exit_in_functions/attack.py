"""Hostile: every function computes the right answer, then calls sys.exit(0) instead of returning."""
import functools
import sys

BASE = "solution"


def _then_exit(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        function(*args, **kwargs)
        sys.exit(0)
    return wrapper


for _name in ("sigmoid", "sigmoid_prime", "neuron_forward", "mse_loss", "neuron_gradients", "numerical_gradient",
              "gradient_descent"):
    globals()[_name] = _then_exit(globals()[_name])
