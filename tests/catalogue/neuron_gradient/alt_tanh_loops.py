"""A correct solution of exercise 01 written differently: tanh sigmoid, loops over samples,
NumPy scalars instead of Python floats, numerical_gradient without in-place perturbation."""
import numpy as np


def sigmoid(z):
    # σ(z) = (1 + tanh(z/2)) / 2: tanh saturates at ±1 and never overflows
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


def sigmoid_prime(z):
    t = np.tanh(0.5 * np.asarray(z, dtype=np.float64))
    return 0.25 * (1.0 - t * t)  # σ(1 − σ) = (1 − tanh²(z/2)) / 4


def neuron_forward(x, w, b):
    return np.array([sigmoid(np.dot(row, w) + b) for row in x], dtype=np.float64)


def mse_loss(a, y):
    diff = np.asarray(a, dtype=np.float64) - y
    return np.dot(diff, diff) / diff.shape[0]  # an np.float64


def neuron_gradients(x, w, b, y):
    n, d = x.shape
    dw = np.zeros(d)
    db = np.float64(0.0)
    for xn, yn in zip(x, y):
        an = sigmoid(np.dot(xn, w) + b)
        delta = 2.0 / n * (an - yn) * an * (1.0 - an)
        dw += delta * xn
        db += delta
    return dw, db


def numerical_gradient(f, theta, eps=1e-5):
    theta = np.asarray(theta, dtype=np.float64)
    grad = np.empty(theta.shape)
    for i in range(theta.size):
        step = np.zeros(theta.shape)
        step[i] = eps
        grad[i] = (f(theta + step) - f(theta - step)) / (2 * eps)
    return grad


def gradient_descent(x, y, w0, b0, lr, steps):
    w, b = w0.copy(), np.float64(b0)
    losses = []
    for _ in range(steps):
        losses.append(mse_loss(neuron_forward(x, w, b), y))
        dw, db = neuron_gradients(x, w, b, y)
        w, b = w - lr * dw, b - lr * db
    return w, b, np.array(losses)
