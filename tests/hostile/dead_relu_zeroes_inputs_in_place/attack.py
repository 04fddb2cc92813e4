"""Hostile: each function zeroes its array arguments in place (the parameters too) and returns
what is right for zeros: every pre-activation is then 0, so every unit is dead; leaky ReLU of
zeros is zeros, and so is its gradient for a zeroed dout. No configs."""
import numpy as np

BASE = "none"
EXERCISE = "dead_relu"


def _zero(*values):
    for value in values:
        if isinstance(value, dict):
            _zero(*value.values())
        elif isinstance(value, np.ndarray) and value.flags.writeable:
            value[...] = 0


def dead_unit_mask(pre_activations):
    _zero(pre_activations)
    return np.ones(np.shape(pre_activations)[1], dtype=bool)


def dead_fraction(params, x, activation="relu"):
    _zero(params, x)
    return [1.0] * (len(params) // 2 - 1)


def leaky_relu_forward(x, alpha=0.01):
    _zero(x)
    return np.zeros(np.shape(x)), np.shape(x)


def leaky_relu_backward(dout, cache):
    _zero(dout)
    return np.zeros(cache)
