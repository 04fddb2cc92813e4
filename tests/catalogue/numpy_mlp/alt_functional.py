"""A correct solution of exercise 02 written differently: dict caches, ReLU caching its output,
the loss as −mean(y log σ(s) + (1 − y) log σ(−s)) with log σ through logaddexp, Adam in Kingma and
Ba's efficient form (the bias corrections folded into the step size and ε), its state a flat dict
of (m, v) tuples, params and grads as new dicts, predict returning integers."""
import numpy as np


def _log_sigmoid(s):
    return -np.logaddexp(0.0, -s)


def init_params(layer_sizes, rng, scheme="he"):
    pairs = list(zip(layer_sizes, layer_sizes[1:]))
    schemes = {"he": [2.0 / i for i, _ in pairs], "xavier": [2.0 / (i + o) for i, o in pairs]}
    if scheme not in schemes:
        raise ValueError(f"unknown scheme {scheme!r}")
    variances = schemes[scheme]
    params = {}
    for layer, ((fan_in, fan_out), variance) in enumerate(zip(pairs, variances), start=1):
        params["W" + str(layer)] = rng.normal(size=(fan_in, fan_out)) * np.sqrt(variance)
        params["b" + str(layer)] = np.zeros(fan_out, dtype=np.float64)
    return params


def linear_forward(x, W, b):
    return x @ W + b, {"x": x, "W": W}


def linear_backward(dout, cache):
    return dout @ cache["W"].T, cache["x"].T @ dout, np.sum(dout, axis=0)


def relu_forward(x):
    out = x * (x > 0)
    return out, out


def relu_backward(dout, cache):
    return dout * (cache > 0)


def bce_with_logits(logits, y):
    loss = -np.mean(y * _log_sigmoid(logits) + (1.0 - y) * _log_sigmoid(-logits))
    probability = np.exp(_log_sigmoid(logits))
    return loss.item(), (probability - y) / y.size


def mlp_forward(params, x):
    layers = sorted(int(k[1:]) for k in params if k.startswith("W"))
    caches = []
    out = x
    for layer in layers:
        out, linear_cache = linear_forward(out, params[f"W{layer}"], params[f"b{layer}"])
        relu_cache = None
        if layer != layers[-1]:
            out, relu_cache = relu_forward(out)
        caches.append({"layer": layer, "linear": linear_cache, "relu": relu_cache})
    return out[:, 0], caches


def mlp_backward(dlogits, caches):
    grads = {}
    upstream = dlogits[:, np.newaxis]
    for cache in caches[::-1]:
        if cache["relu"] is not None:
            upstream = relu_backward(upstream, cache["relu"])
        upstream, dW, db = linear_backward(upstream, cache["linear"])
        grads[f"W{cache['layer']}"], grads[f"b{cache['layer']}"] = dW, db
    return grads


def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    step_size = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    eps_hat = eps * np.sqrt(1 - beta2 ** t)
    new_state, new_params = {"t": t}, {}
    for key, g in grads.items():
        m, v = state.get(key, (0.0, 0.0))
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * np.square(g)
        new_params[key] = params[key] - step_size * m / (np.sqrt(v) + eps_hat)
        new_state[key] = (m, v)
    return new_params, new_state


def train(x, y, layer_sizes, *, epochs, lr, batch_size, seed):
    rng = np.random.default_rng(seed)
    params = init_params(layer_sizes, rng, "he")
    state = {}
    history = np.empty(epochs)
    for epoch in range(epochs):
        permutation = rng.permutation(x.shape[0])
        x_shuffled, y_shuffled = x[permutation], y[permutation]
        weighted = []
        for start in range(0, x.shape[0], batch_size):
            xb, yb = x_shuffled[start:start + batch_size], y_shuffled[start:start + batch_size]
            logits, caches = mlp_forward(params, xb)
            loss, dlogits = bce_with_logits(logits, yb)
            params, state = adam_step(params, mlp_backward(dlogits, caches), state, lr)
            weighted.append(loss * len(yb))
        history[epoch] = sum(weighted) / x.shape[0]
    return params, history


def predict(params, x):
    logits, _ = mlp_forward(params, x)
    return np.where(logits > 0, 1, 0)
