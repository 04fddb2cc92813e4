"""Hostile: constants that the public tests' fixed inputs expect, whatever the input: the sigmoid
of [[0, 2, -2], [1e4, -1e4, 30]], σ' of [0, 1, -3, 5], and mse_loss([0.5, 0.5, 1], [0, 1, 1])."""
import numpy as np

BASE = "none"
EXERCISE = "neuron_gradient"


def _sig(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500.0, 500.0)))


_SIGMOID = _sig(np.array([[0.0, 2.0, -2.0], [1e4, -1e4, 30.0]]))
_SIGMOID_PRIME = _sig(np.array([0.0, 1.0, -3.0, 5.0])) * (1 - _sig(np.array([0.0, 1.0, -3.0, 5.0])))


def sigmoid(z):
    return _SIGMOID.copy()


def sigmoid_prime(z):
    return _SIGMOID_PRIME.copy()


def mse_loss(a, y):
    return 0.5 / 3
