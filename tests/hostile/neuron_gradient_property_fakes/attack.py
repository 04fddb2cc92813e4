"""Hostile: code that computes nothing but has the properties some tests check: a sigmoid of 0.5
everywhere (finite, in [0, 1], no warning at ±1e4), zero gradients, a numerical gradient of zeros
that leaves theta alone, and a gradient descent that never moves, whose history is the true loss
at (w0, b0) repeated: consistent with its own zero gradients, w0 untouched."""
import numpy as np

BASE = "none"
EXERCISE = "neuron_gradient"


def sigmoid(z):
    return np.full(np.shape(z), 0.5)


def sigmoid_prime(z):
    return np.full(np.shape(z), 0.25)


def neuron_forward(x, w, b):
    return np.full(np.shape(x)[0], 0.5)


def mse_loss(a, y):
    return 0.0


def neuron_gradients(x, w, b, y):
    return np.zeros(np.shape(w)), 0.0


def numerical_gradient(f, theta, eps=1e-5):
    return np.zeros(np.shape(theta))


def _true_loss(x, w, b, y):
    z = np.asarray(x) @ np.asarray(w) + b
    return float(np.mean((1.0 / (1.0 + np.exp(-np.clip(z, -500, 500))) - y) ** 2))


def gradient_descent(x, y, w0, b0, lr, steps):
    return np.array(w0, dtype=np.float64), float(b0), np.full(steps, _true_loss(x, w0, b0, y))
