"""Hostile: an ndarray subclass whose __array_ufunc__ and __eq__ make every comparison agree, holding zeros."""
import numpy as np

BASE = "none"


class _Agreeable(np.ndarray):
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if ufunc in (np.equal, np.less_equal, np.greater_equal, np.isclose if isinstance(np.isclose, np.ufunc) else np.equal,
                     np.isfinite, np.logical_and, np.logical_or, np.less, np.greater):
            shape = np.broadcast(*[np.asarray(i) for i in inputs]).shape
            return np.ones(shape, dtype=bool)
        if ufunc in (np.subtract, np.absolute):
            shape = np.broadcast(*[np.asarray(i) for i in inputs]).shape
            return np.zeros(shape)
        plain = [np.asarray(i).view(np.ndarray) if isinstance(i, np.ndarray) else i for i in inputs]
        return getattr(ufunc, method)(*plain, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if func.__name__ in ("allclose", "array_equal", "array_equiv", "all", "any"):
            return True
        plain = [a.view(np.ndarray) if isinstance(a, np.ndarray) else a for a in args]
        return func(*plain, **kwargs)

    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    __hash__ = None


def _agreeable(shape):
    return np.zeros(shape).view(_Agreeable)


def sigmoid(z):
    return _agreeable(np.shape(z))


def sigmoid_prime(z):
    return _agreeable(np.shape(z))


def neuron_forward(x, w, b):
    return _agreeable(np.shape(x)[:1])


def mse_loss(a, y):
    return _agreeable(())


def neuron_gradients(x, w, b, y):
    return _agreeable(np.shape(w)), _agreeable(())


def numerical_gradient(f, theta, eps=1e-5):
    return _agreeable(np.shape(theta))


def gradient_descent(x, y, w0, b0, lr, steps):
    return _agreeable(np.shape(w0)), _agreeable(()), _agreeable((steps,))
