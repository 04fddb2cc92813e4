"""Hostile: each function zeroes its array arguments in place (the arrays in params, grads and
caches too) and returns what is right for zeros, so that a test that computed its expectation
from its own arguments after the call would agree."""
import numpy as np

BASE = "none"
EXERCISE = "numpy_mlp"


def _zero(*values):
    for value in values:
        if isinstance(value, dict):
            _zero(*value.values())
        elif isinstance(value, (list, tuple)):
            _zero(*value)
        elif isinstance(value, np.ndarray) and value.flags.writeable:
            value[...] = 0


def init_params(layer_sizes, rng, scheme="he"):
    return {name: np.zeros(shape) for layer, (fan_in, fan_out)
            in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1)
            for name, shape in ((f"W{layer}", (fan_in, fan_out)), (f"b{layer}", (fan_out,)))}


def linear_forward(x, W, b):
    _zero(x, W, b)
    return np.zeros((np.shape(x)[0], np.shape(W)[1])), (np.shape(x), np.shape(W))


def linear_backward(dout, cache):
    _zero(dout)
    (n, d), (_, m) = cache
    return np.zeros((n, d)), np.zeros((d, m)), np.zeros(m)


def relu_forward(x):
    _zero(x)
    return np.zeros(np.shape(x)), np.shape(x)


def relu_backward(dout, cache):
    _zero(dout)
    return np.zeros(cache)


def bce_with_logits(logits, y):
    _zero(logits, y)  # s = 0, y = 0: loss log 2, gradient 1/2 per sample over N
    n = np.shape(logits)[0]
    return float(np.log(2.0)), np.full(n, 0.5 / n)


def mlp_forward(params, x):
    _zero(params, x)
    return np.zeros(np.shape(x)[0]), {k: np.shape(v) for k, v in params.items()}


def mlp_backward(dlogits, caches):
    _zero(dlogits)
    return {k: np.zeros(shape) for k, shape in caches.items()}


def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    _zero(grads)  # a zero gradient: Adam leaves the parameters where they are
    return {k: np.array(v, dtype=np.float64) for k, v in params.items()}, state


def train(x, y, layer_sizes, *, epochs, lr, batch_size, seed):
    _zero(x, y)
    return init_params(layer_sizes, None), np.full(epochs, np.log(2.0))


def predict(params, x):
    _zero(params, x)
    return np.zeros(np.shape(x)[0])
