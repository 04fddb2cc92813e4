"""Hostile: constants that the public tests' fixed inputs expect, whatever the input: the mask
[True, True, False, False], the dead fractions [0.5, 0.5], leaky ReLU's output and gradient for
the public x with alpha = 0.1; no configs."""
import numpy as np

BASE = "none"
EXERCISE = "dead_relu"


def dead_unit_mask(pre_activations):
    return np.array([True, True, False, False])


def dead_fraction(params, x, activation="relu"):
    return [0.5, 0.5]


def leaky_relu_forward(x, alpha=0.01):
    return np.array([[-0.2, -0.05, 0.0], [0.5, 3.0, -1.0]]), None


def leaky_relu_backward(dout, cache):
    return np.array([0.1, 0.2, 0.3, 4.0, 5.0])
