"""A correct solution of exercise 04 written differently: masks from rng.uniform kept where
u < 1 - p, no mask at all (None) in eval mode, caches as objects that stay in the sandbox, its own
stable logistic loss, histories as lists of NumPy scalars."""
import numpy as np

from dropout_support import STUDY_SETTINGS, init_params, make_data


class Trace:
    """What one layer remembers for the backward pass."""

    def __init__(self, inputs, weights, pre=None, mask=None):
        self.inputs, self.weights, self.pre, self.mask = inputs, weights, pre, mask


def dropout_forward(x, p, train, rng):
    if not (0 <= p < 1):
        raise ValueError(f"dropout probability {p!r} is outside [0, 1)")
    if not train or p == 0:
        return np.array(x, dtype=float), None
    u = rng.uniform(size=x.shape)
    mask = np.where(u < 1 - p, 1.0 / (1.0 - p), 0.0)
    return x * mask, mask


def dropout_backward(dout, mask):
    return np.array(dout, dtype=float) if mask is None else dout * mask


def mlp_dropout_forward(params, x, p, train, rng):
    n = len(params) // 2
    traces = []
    h = x
    for k in range(1, n):
        pre = h @ params[f"W{k}"] + params[f"b{k}"]
        out, mask = dropout_forward(np.clip(pre, 0, None), p, train, rng)
        traces.append(Trace(h, params[f"W{k}"], pre, mask))
        h = out
    traces.append(Trace(h, params[f"W{n}"]))
    return h @ params[f"W{n}"][:, 0] + params[f"b{n}"][0], traces


def mlp_dropout_backward(dlogits, caches):
    n = len(caches)
    last = caches[-1]
    grads = {f"W{n}": np.outer(last.inputs.T @ dlogits, 1.0), f"b{n}": np.array([dlogits.sum()])}
    d_h = np.outer(dlogits, last.weights[:, 0])
    for k in range(n - 1, 0, -1):
        trace = caches[k - 1]
        d_pre = np.where(trace.pre > 0, dropout_backward(d_h, trace.mask), 0.0)
        grads[f"W{k}"] = trace.inputs.T @ d_pre
        grads[f"b{k}"] = np.sum(d_pre, axis=0)
        d_h = d_pre @ trace.weights.T
    return grads


def _logistic_loss(z, y):
    z = np.asarray(z)
    return np.mean(np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))) - y * z)


def train_with_dropout(x_tr, y_tr, x_val, y_val, *, p, hidden, epochs, lr, seed):
    rng = np.random.default_rng(seed)
    params = init_params([x_tr.shape[1], *hidden, 1], rng)
    history = {"train_loss": [], "val_loss": []}
    n = len(y_tr)
    for _ in range(epochs):
        z, traces = mlp_dropout_forward(params, x_tr, p, True, rng)
        sigmoid = 0.5 * (1 + np.tanh(0.5 * z))
        grads = mlp_dropout_backward((sigmoid - y_tr) / n, traces)
        params = {name: params[name] - lr * grads[name] for name in params}
        history["train_loss"].append(_logistic_loss(mlp_dropout_forward(params, x_tr, p, False, rng)[0], y_tr))
        history["val_loss"].append(_logistic_loss(mlp_dropout_forward(params, x_val, p, False, rng)[0], y_val))
    return params, history


def dropout_study(ps=(0.0, 0.2, 0.5), seed=0):
    x_train, y_train, x_val, y_val = make_data()
    return {float(p): train_with_dropout(x_train, y_train, x_val, y_val, p=p, seed=seed, **STUDY_SETTINGS)[1]
            for p in ps}
