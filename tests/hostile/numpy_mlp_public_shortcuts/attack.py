"""Hostile: shortcuts through the public tests. relu_forward, relu_backward and bce_with_logits
return, whatever the input, the constants that the public tests' fixed inputs expect, and
adam_step takes Adam's first step at every call (p - lr * g / (|g| + eps), no memory), which a
constant gradient cannot tell from Adam. The stub for the rest."""
import numpy as np

BASE = "stub"
EXERCISE = "numpy_mlp"

_S = np.array([0.0, 2.0, -3.0, 1e4, -1e4])
_Y = np.array([1.0, 0.0, 1.0, 0.0, 0.0])
_LOSS = float(np.mean(np.logaddexp(0.0, _S) - _Y * _S))
_DLOGITS = (np.array([0.5, 1 / (1 + np.exp(-2.0)), 1 / (1 + np.exp(3.0)), 1.0, 0.0]) - _Y) / 5


def relu_forward(x):
    return np.array([[0.0, 0.0, 3.0], [1.5, 0.0, 0.0]]), None


def relu_backward(dout, cache):
    return np.array([[0.0, 0.0, 3.0], [4.0, 0.0, 0.0]])


def bce_with_logits(logits, y):
    return _LOSS, _DLOGITS.copy()


def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    return {k: params[k] - lr * grads[k] / (np.abs(grads[k]) + eps) for k in params}, {}
