"""Hostile: train ignores the data it is given and returns a network trained, in private, on two
moons of its own (make_moons with a fixed seed, the same distribution as the tests' data), a tiny
seed-dependent perturbation making runs with different seeds differ, and the history of that
private run: parameters fixed in advance that classify two moons well. The stub for the rest."""
import numpy as np

from mlp_support import make_moons

BASE = "stub"
EXERCISE = "numpy_mlp"


def _forward(params, x):
    n_layers, h, hidden = len(params) // 2, x, []
    for layer in range(1, n_layers + 1):
        h = h @ params[f"W{layer}"] + params[f"b{layer}"]
        if layer < n_layers:
            hidden.append(h)
            h = np.maximum(h, 0.0)
    return h[:, 0], hidden


def _private_training(layer_sizes, epochs=60):
    """Adam on moons of its own; the returned parameters do not depend on the caller's data."""
    rng = np.random.default_rng(12345)
    x, y = make_moons(600, 0.15, rng)
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
        params[f"W{layer}"] = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
        params[f"b{layer}"] = np.zeros(fan_out)
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    t, history = 0, []
    for _ in range(epochs):
        order, total = rng.permutation(len(x)), 0.0
        for start in range(0, len(x), 32):
            batch = order[start:start + 32]
            s, hidden = _forward(params, x[batch])
            total += float(np.sum(np.logaddexp(0.0, s) - y[batch] * s))
            dout = ((1.0 / (1.0 + np.exp(-s)) - y[batch]) / len(batch))[:, None]
            grads = {}
            for layer in range(len(params) // 2, 0, -1):
                h_in = x[batch] if layer == 1 else np.maximum(hidden[layer - 2], 0.0)
                grads[f"W{layer}"], grads[f"b{layer}"] = h_in.T @ dout, dout.sum(axis=0)
                if layer > 1:
                    dout = (dout @ params[f"W{layer}"].T) * (hidden[layer - 2] > 0)
            t += 1
            for k, g in grads.items():
                m[k] = 0.9 * m[k] + 0.1 * g
                v[k] = 0.999 * v[k] + 0.001 * g * g
                params[k] = params[k] - 0.01 * (m[k] / (1 - 0.9 ** t)) / (np.sqrt(v[k] / (1 - 0.999 ** t)) + 1e-8)
        history.append(total / len(x))
    return params, np.array(history)


_TRAINED = {}


def train(x, y, layer_sizes, *, epochs, lr, batch_size, seed):
    key = tuple(layer_sizes)
    if key not in _TRAINED:
        _TRAINED[key] = _private_training(list(layer_sizes))
    params, history = _TRAINED[key]
    jitter = np.random.default_rng(seed)
    params = {k: p + 1e-9 * jitter.normal(size=p.shape) for k, p in params.items()}
    return params, np.interp(np.linspace(0, len(history) - 1, epochs), np.arange(len(history)), history)
