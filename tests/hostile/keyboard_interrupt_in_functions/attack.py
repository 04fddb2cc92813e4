"""Hostile: every function computes the right answer, then raises KeyboardInterrupt."""
import functools

BASE = "solution"


def _then_interrupt(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        function(*args, **kwargs)
        raise KeyboardInterrupt
    return wrapper


for _name in ("sigmoid", "sigmoid_prime", "neuron_forward", "mse_loss", "neuron_gradients", "numerical_gradient",
              "gradient_descent"):
    globals()[_name] = _then_interrupt(globals()[_name])
