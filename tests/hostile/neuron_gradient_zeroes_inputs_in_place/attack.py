"""Hostile: each function zeroes its array arguments in place and returns what is right for
zeros (θ = 0 for numerical_gradient, x = 0 and y = 0 for the neuron), so that a test that computed
its expectation from its own arguments after the call would agree."""
import numpy as np

BASE = "none"
EXERCISE = "neuron_gradient"


def _zero(*arrays):
    for array in arrays:
        if isinstance(array, np.ndarray) and array.flags.writeable:
            array[...] = 0


def sigmoid(z):
    _zero(z)
    return np.full(np.shape(z), 0.5)


def sigmoid_prime(z):
    _zero(z)
    return np.full(np.shape(z), 0.25)


def neuron_forward(x, w, b):
    _zero(x, w)
    s = 1.0 / (1.0 + np.exp(-b))
    return np.full(np.shape(x)[0], s)


def mse_loss(a, y):
    _zero(a, y)
    return 0.0


def neuron_gradients(x, w, b, y):
    _zero(x, y)  # x = 0: a = σ(b) for every sample, dw = 0
    s = 1.0 / (1.0 + np.exp(-b))
    return np.zeros(np.shape(w)), float(2.0 * s * s * (1.0 - s))


def numerical_gradient(f, theta, eps=1e-5):
    _zero(theta)  # the gradient at θ = 0, by central differences
    grad = np.zeros(np.shape(theta))
    for i in range(grad.size):
        step = np.zeros(np.shape(theta))
        step[i] = eps
        grad[i] = (f(step) - f(-step)) / (2 * eps)
    return grad


def gradient_descent(x, y, w0, b0, lr, steps):
    _zero(x, y, w0)  # x = 0, y = 0: only b moves
    b, losses = float(b0), np.zeros(steps)
    for i in range(steps):
        s = 1.0 / (1.0 + np.exp(-b))
        losses[i] = s * s
        b -= lr * 2.0 * s * s * (1.0 - s)
    return np.zeros(np.shape(w0)), b, losses
