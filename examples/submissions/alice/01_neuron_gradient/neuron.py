"""Alice's neuron.py: works on small inputs, with three classic slips (see `make demo`)."""
import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))  # overflows for very negative z


def sigmoid_prime(z):
    s = sigmoid(z)
    return s * (1 - s)


def neuron_forward(x, w, b):
    return sigmoid(x @ w + b)


def mse_loss(a, y):
    return float(np.mean((a - y) ** 2))


def neuron_gradients(x, w, b, y):
    a = neuron_forward(x, w, b)
    delta = 2 * (a - y) / len(y) * a * (1 - a)
    return x.T @ delta, float(delta.sum())


def numerical_gradient(f, theta, eps=1e-5):
    grad = np.zeros_like(theta)
    f0 = f(theta)
    for i in range(len(theta)):
        shifted = theta.copy()
        shifted[i] += eps
        grad[i] = (f(shifted) - f0) / eps  # forward difference
    return grad


def gradient_descent(x, y, w0, b0, lr, steps):
    w, b = w0.copy(), float(b0)
    losses = []
    for _ in range(steps):
        dw, db = neuron_gradients(x, w, b, y)
        w -= lr * dw
        b -= lr * db
        losses.append(mse_loss(neuron_forward(x, w, b), y))  # recorded after the update
    return w, b, np.array(losses)
