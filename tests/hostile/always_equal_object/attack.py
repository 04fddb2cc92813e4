"""Hostile: an object equal to everything (with __array__ and __float__) returned everywhere."""
import numpy as np

BASE = "none"


class _AlwaysEqual:
    shape = ()
    dtype = np.dtype(np.float64)
    ndim = 0

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __lt__ = __le__ = __gt__ = __ge__ = __eq__
    __hash__ = object.__hash__

    def __float__(self):
        return 0.0

    def __index__(self):
        return 0

    def __bool__(self):
        return True

    def __array__(self, dtype=None, copy=None):
        return np.zeros((), dtype=dtype or np.float64)

    def __len__(self):
        return 2

    def __getitem__(self, key):
        return self

    def __iter__(self):
        return iter((self, self, self))

    def _self(self, *args, **kwargs):
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _self
    __abs__ = __neg__ = __pow__ = astype = copy = _self


_LIAR = _AlwaysEqual()


def sigmoid(z):
    return _LIAR


def sigmoid_prime(z):
    return _LIAR


def neuron_forward(x, w, b):
    return _LIAR


def mse_loss(a, y):
    return _LIAR


def neuron_gradients(x, w, b, y):
    return _LIAR, _LIAR


def numerical_gradient(f, theta, eps=1e-5):
    return _LIAR


def gradient_descent(x, y, w0, b0, lr, steps):
    return _LIAR, _LIAR, _LIAR
