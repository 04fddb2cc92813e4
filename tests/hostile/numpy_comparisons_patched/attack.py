"""Hostile: numpy's comparison functions patched to always agree, with wrong answers (zeros)."""
import numpy as np
import numpy.testing

BASE = "none"


def _true(*args, **kwargs):
    return True


def _none(*args, **kwargs):
    return None


np.allclose = np.array_equal = np.array_equiv = _true
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.testing.assert_allclose = np.testing.assert_array_equal = np.testing.assert_array_almost_equal = _none
np.testing.assert_almost_equal = np.testing.assert_equal = _none
np.isfinite = lambda a, *args, **kwargs: np.ones(np.shape(a), dtype=bool)


def sigmoid(z):
    return np.zeros(np.shape(z))


def sigmoid_prime(z):
    return np.zeros(np.shape(z))


def neuron_forward(x, w, b):
    return np.zeros(np.shape(x)[0])


def mse_loss(a, y):
    return 0.0


def neuron_gradients(x, w, b, y):
    return np.zeros(np.shape(w)), 0.0


def numerical_gradient(f, theta, eps=1e-5):
    theta[...] = 0.0
    return np.zeros(np.shape(theta))


def gradient_descent(x, y, w0, b0, lr, steps):
    w0[...] = 0.0
    return np.zeros(np.shape(w0)), 0.0, np.zeros(steps)
