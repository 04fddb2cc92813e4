"""Hostile: NaN arrays (NaN compares false) and scalars where arrays are due, an array where a number is due."""
import types

import numpy as np

BASE = "solution"

# the right functions, bound to a namespace of their own, where they call one another and not the wrong ones below
_RIGHT = dict(globals())
for _name in ("sigmoid", "sigmoid_prime", "neuron_forward", "mse_loss", "neuron_gradients", "numerical_gradient",
              "gradient_descent"):
    _RIGHT[_name] = types.FunctionType(_RIGHT[_name].__code__, _RIGHT, _name, _RIGHT[_name].__defaults__)

_NAN = float("nan")


def sigmoid(z):
    return np.full(np.shape(z), _NAN)


def sigmoid_prime(z):
    return float(np.mean(_RIGHT["sigmoid_prime"](z)))


def neuron_forward(x, w, b):
    return np.full(np.shape(x)[:1], _NAN)


def mse_loss(a, y):
    return np.array([_RIGHT["mse_loss"](a, y)])


def neuron_gradients(x, w, b, y):
    dw, db = _RIGHT["neuron_gradients"](x, w, b, y)
    return float(np.sum(dw)), _NAN


def numerical_gradient(f, theta, eps=1e-5):
    return float(np.sum(_RIGHT["numerical_gradient"](f, theta, eps)))


def gradient_descent(x, y, w0, b0, lr, steps):
    w, b, losses = _RIGHT["gradient_descent"](x, y, w0, b0, lr, steps)
    return np.full(np.shape(w), _NAN), b, float(losses[-1])
