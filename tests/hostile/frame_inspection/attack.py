"""Hostile: inspects the caller's frames (sys._getframe, inspect.stack, gc) for expected values; wrong otherwise."""
import gc
import inspect
import sys

import numpy as np

BASE = "none"

_NAMES = ("expected", "exact", "central", "ref", "ref_w", "ref_b", "ref_losses", "num_dw", "num_db",
          "expected_dw", "expected_db", "s", "before")


def _steal(shape=None):
    frames = []
    frame = sys._getframe(1)
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    try:
        frames += [info.frame for info in inspect.stack()]
    except Exception:
        pass
    for frame in frames:
        for name in _NAMES:
            value = frame.f_locals.get(name)
            if isinstance(value, np.ndarray) and (shape is None or value.shape == shape):
                return value.copy()
            if isinstance(value, float) and shape == ():
                return value
    if shape is not None and shape != ():  # a float64 array of the right shape lying around
        for obj in gc.get_objects():
            if type(obj) is np.ndarray and obj.shape == shape and obj.dtype == np.float64 and obj.any():
                return obj.copy() * 0.5
    return None


def _or(value, fallback):
    return fallback if value is None else value


def sigmoid(z):
    return _or(_steal(np.shape(z)), np.zeros(np.shape(z)))


def sigmoid_prime(z):
    return _or(_steal(np.shape(z)), np.zeros(np.shape(z)))


def neuron_forward(x, w, b):
    return _or(_steal(np.shape(x)[:1]), np.zeros(np.shape(x)[:1]))


def mse_loss(a, y):
    return _or(_steal(()), 0.0)


def neuron_gradients(x, w, b, y):
    return _or(_steal(np.shape(w)), np.zeros(np.shape(w))), _or(_steal(()), 0.0)


def numerical_gradient(f, theta, eps=1e-5):
    stolen = _steal(np.shape(theta))
    theta[...] = 0.0
    return _or(stolen, np.zeros(np.shape(theta)))


def gradient_descent(x, y, w0, b0, lr, steps):
    stolen = _steal(np.shape(w0))
    w0[...] = 0.0
    return _or(stolen, np.zeros(np.shape(w0))), _or(_steal(()), 0.0), _or(_steal((steps,)), np.zeros(steps))
