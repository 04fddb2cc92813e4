"""A correct solution of exercise 01 written differently: sigmoid through logaddexp, the
gradient as (2/N) xᵀ((a − y) σ'(z)) through sigmoid_prime, a list of losses, 0-d array for db."""
from __future__ import annotations

import numpy as np


def sigmoid(z):
    # log σ(z) = −log(1 + e^(−z)) = −logaddexp(0, −z), finite for every finite z
    return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=np.float64)))


def sigmoid_prime(z):
    z = np.asarray(z, dtype=np.float64)
    # σ(z) σ(−z) = exp(−log(1 + e^(−z)) − log(1 + e^z))
    return np.exp(-np.logaddexp(0.0, -z) - np.logaddexp(0.0, z))


def neuron_forward(x, w, b):
    return sigmoid(np.einsum("nd,d->n", x, w) + b)


def mse_loss(a, y):
    return ((a - y) ** 2).mean().item()


def neuron_gradients(x, w, b, y):
    n = len(y)
    z = x @ w + b
    delta = (sigmoid(z) - y) * sigmoid_prime(z)
    return (2.0 / n) * (delta @ x), (2.0 / n) * delta.sum(keepdims=True).reshape(())


def numerical_gradient(f, theta, eps=1e-5):
    work = theta.astype(np.float64, copy=True)
    out = []
    for i in range(len(work)):
        saved = work[i]
        work[i] = saved + eps
        up = f(work)
        work[i] = saved - eps
        down = f(work)
        work[i] = saved
        out.append((up - down) / (2 * eps))
    return np.array(out)


def gradient_descent(x, y, w0, b0, lr, steps):
    w, b = np.copy(w0), b0
    losses = []
    for _ in range(steps):
        losses.append(mse_loss(neuron_forward(x, w, b), y))
        dw, db = neuron_gradients(x, w, b, y)
        w = w - lr * dw
        b = float(b - lr * db)
    return w, b, losses
