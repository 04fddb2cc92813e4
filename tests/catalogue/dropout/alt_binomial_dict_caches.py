"""A correct solution of exercise 04 written differently: masks from rng.binomial, caches as a list
of dicts walked in reverse, parameters updated in place on a copy, histories as NumPy arrays."""
import numpy as np

import dropout_support as support


def dropout_forward(x, p, train, rng):
    if p < 0 or p >= 1 or p != p:
        raise ValueError("p is the probability of dropping a unit and must lie in [0, 1)")
    if train and p > 0:
        mask = rng.binomial(1, 1 - p, size=np.shape(x)) / (1 - p)
    else:
        mask = np.ones(np.shape(x))
    return np.multiply(x, mask), mask


def dropout_backward(dout, mask):
    return np.multiply(dout, mask)


def mlp_dropout_forward(params, x, p, train, rng):
    depth = len(params) // 2
    caches = []
    out = x
    for i in range(1, depth + 1):
        entry = {"input": out, "W": params["W%d" % i]}
        out = out @ params["W%d" % i] + params["b%d" % i]
        if i < depth:
            entry["pre"] = out
            out, entry["mask"] = dropout_forward(np.where(out > 0, out, 0.0), p, train, rng)
        caches.append(entry)
    return out.reshape(-1), caches


def mlp_dropout_backward(dlogits, caches):
    grads = {}
    upstream = np.reshape(dlogits, (-1, 1))
    for i in range(len(caches), 0, -1):
        entry = caches[i - 1]
        if "mask" in entry:
            upstream = dropout_backward(upstream, entry["mask"]) * (entry["pre"] > 0)
        grads["W%d" % i] = np.einsum("nd,nm->dm", entry["input"], upstream)
        grads["b%d" % i] = upstream.sum(0)
        upstream = upstream @ entry["W"].T
    return grads


def train_with_dropout(x_tr, y_tr, x_val, y_val, *, p, hidden, epochs, lr, seed):
    rng = np.random.default_rng(seed)
    params = {k: v.copy() for k, v in support.init_params([x_tr.shape[1]] + list(hidden) + [1], rng).items()}
    train_loss, val_loss = np.empty(epochs), np.empty(epochs)
    for epoch in range(epochs):
        z, caches = mlp_dropout_forward(params, x_tr, p, True, rng)
        grads = mlp_dropout_backward(support.bce_with_logits(z, y_tr)[1], caches)
        for k in params:
            params[k] -= lr * grads[k]
        train_loss[epoch] = support.bce_with_logits(mlp_dropout_forward(params, x_tr, p, False, None)[0], y_tr)[0]
        val_loss[epoch] = support.bce_with_logits(mlp_dropout_forward(params, x_val, p, False, None)[0], y_val)[0]
    return params, {"train_loss": train_loss, "val_loss": val_loss}


def dropout_study(ps=(0.0, 0.2, 0.5), seed=0):
    data = support.make_data()
    histories = {}
    for p in ps:
        histories[float(p)] = train_with_dropout(*data, p=p, seed=seed, **support.STUDY_SETTINGS)[1]
    return histories
