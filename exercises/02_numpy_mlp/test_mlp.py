"""Public tests for exercise 02 (numpy_mlp).

Run them from this folder with ``pytest``. They check shapes, known values (and fresh random ones
beside them, so that no fixed answer passes), finite differences of the network's loss, Adam's
first steps and a short training run on the two moons, turned by a random angle. The grader runs
these and further hidden tests on fresh random inputs, so passing here is a good sign, not a
guarantee.
"""
import warnings

import numpy as np

from mlp_support import make_moons
from nnex_check import CheckFailed, assert_close, expect_array, expect_no_warning, expect_scalar, expect_tuple, fail

STUDENT_MODULE = "mlp"


# ---------------------------------------------------------------- the tests' own NumPy (not your code)

def _loss(params, x, y):
    """The mean logistic loss of the network (ReLU hidden layers, one output unit)."""
    h = x
    n_layers = len(params) // 2
    for layer in range(1, n_layers + 1):
        h = h @ params[f"W{layer}"] + params[f"b{layer}"]
        if layer < n_layers:
            h = np.maximum(h, 0.0)
    s = h[:, 0]
    return float(np.mean(np.logaddexp(0.0, s) - y * s))


def _random_params(rng, sizes):
    """Parameters with nonzero biases, so that every gradient is exercised."""
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{layer}"] = rng.normal(scale=0.8, size=(fan_in, fan_out))
        params[f"b{layer}"] = rng.normal(scale=0.3, size=fan_out)
    return params


def _copy(params):
    return {name: value.copy() for name, value in params.items()}


def _central_difference(f, array, eps=1e-6):
    """Central differences of the scalar f() with respect to each entry of ``array``.

    Each entry is nudged in place and put back, so f must read ``array`` itself.
    """
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        old = array[index]
        array[index] = old + eps
        plus = f()
        array[index] = old - eps
        minus = f()
        array[index] = old
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def _turned(x, y, rng):
    """The two moons turned by a random angle, their labels swapped half the time: a network
    fixed in advance cannot fit them, one trained on them can."""
    angle = rng.uniform(0.0, 2.0 * np.pi)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return x @ rotation.T, (1.0 - y if rng.uniform() < 0.5 else y)


def _param_dict(value, like, name):
    """value must be a dict with the keys and shapes of ``like``; returns it with float64 arrays."""
    if type(value) is not dict or set(value) != set(like):
        keys = sorted(value) if type(value) is dict else None
        fail(f"{name} should be a dict with the keys {sorted(like)}, got "
             + (f"the keys {keys}" if keys is not None else f"a {type(value).__name__}"))
    return {key: expect_array(value[key], f"{name}[{key!r}]", shape=like[key].shape) for key in like}


# ---------------------------------------------------------------- tests

def test_init_params_shapes_and_biases(student):
    sizes = [400, 100, 1]
    params = student.init_params(sizes, np.random.default_rng(0))
    like = {"W1": np.zeros((400, 100)), "b1": np.zeros(100), "W2": np.zeros((100, 1)), "b2": np.zeros(1)}
    params = _param_dict(params, like, "init_params([400, 100, 1], rng)")
    for name in ("b1", "b2"):
        if np.any(params[name] != 0):
            fail(f"{name} should start at zero")
    std = float(np.std(params["W1"]))
    if abs(std / np.sqrt(2 / 400) - 1) > 0.1:
        mistake = "he_fan_out" if abs(std / np.sqrt(2 / 100) - 1) < 0.1 else None
        fail(f"W1 of shape (400, 100) has standard deviation {std:.4f}; He initialisation gives "
             f"sqrt(2 / fan_in) = {np.sqrt(2 / 400):.4f}", mistake)


def test_linear_forward_and_backward(student, rng):
    n, d, m = 4, 3, 2                                     # N, D, M all different: shapes tell them apart
    x, W, b = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m)
    dout = rng.normal(size=(n, m))
    out, cache = expect_tuple(student.linear_forward(x.copy(), W.copy(), b.copy()),
                              "linear_forward(x, W, b)", 2)
    out = expect_array(out, "out of linear_forward for x (4, 3), W (3, 2)", shape=(n, m))
    assert_close(out, x @ W + b, "out = x @ W + b", rtol=1e-10, atol=1e-12)
    dx, dW, db = expect_tuple(student.linear_backward(dout.copy(), cache), "linear_backward(dout, cache)", 3)
    if type(dW) is np.ndarray and dW.shape == (m, d):
        fail(f"dW has shape {dW.shape}, the transpose of W's {W.shape}", "dW_transposed")
    if type(db) is np.ndarray and db.shape == (n, m):
        fail(f"db has shape {db.shape}, one row per sample; it should have b's shape ({m},)", "db_not_summed")
    dx = expect_array(dx, "dx", shape=(n, d))
    dW = expect_array(dW, "dW", shape=(d, m))
    db = expect_array(db, "db", shape=(m,))

    def f():  # sum(out * dout), whose gradients with respect to x, W and b are dx, dW and db
        return float(np.sum((x @ W + b) * dout))

    for name, value, got in (("dx", x, dx), ("dW", W, dW), ("db", b, db)):
        numeric = _central_difference(f, value)
        assert_close(got, numeric, f"{name} compared with central differences", rtol=1e-6, atol=1e-8,
                     mistakes={"db_averaged": numeric / n} if name == "db" else None)


def test_relu_forward_and_backward(student, rng):
    x = np.array([[-2.0, 0.0, 3.0], [1.5, -0.5, 0.0]])
    dout = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    out, cache = expect_tuple(student.relu_forward(x.copy()), "relu_forward(x)", 2)
    out = expect_array(out, "out of relu_forward for x of shape (2, 3)", shape=(2, 3))
    assert_close(out, [[0.0, 0.0, 3.0], [1.5, 0.0, 0.0]], "relu_forward([[-2, 0, 3], [1.5, -0.5, 0]])")
    dx = expect_array(student.relu_backward(dout.copy(), cache), "relu_backward(dout, cache)", shape=(2, 3))
    assert_close(dx, [[0.0, 0.0, 3.0], [4.0, 0.0, 0.0]],
                 "relu_backward: the gradient passes only where the input was > 0",
                 mistakes={"relu_grad_at_zero": [[0.0, 2.0, 3.0], [4.0, 0.0, 6.0]]})
    x = rng.normal(size=(4, 5))  # and fresh values, which no fixed answer fits
    x[rng.uniform(size=x.shape) < 0.25] = 0.0
    dout = rng.normal(size=(4, 5))
    out, cache = expect_tuple(student.relu_forward(x.copy()), "relu_forward(x)", 2)
    out = expect_array(out, "out of relu_forward for x of shape (4, 5)", shape=(4, 5))
    assert_close(out, np.maximum(x, 0.0), "relu_forward(x) for random x of shape (4, 5)")
    dx = expect_array(student.relu_backward(dout.copy(), cache), "relu_backward(dout, cache)", shape=(4, 5))
    assert_close(dx, dout * (x > 0), "relu_backward(dout, cache) for random x of shape (4, 5)",
                 mistakes={"relu_grad_at_zero": dout * (x >= 0)})


def test_bce_with_logits_known_values(student, rng):
    s = np.array([0.0, 2.0, -3.0, 1e4, -1e4])
    y = np.array([1.0, 0.0, 1.0, 0.0, 0.0])
    try:
        with expect_no_warning("bce_with_logits for logits up to ±1e4"):
            result = student.bce_with_logits(s.copy(), y.copy())
    except CheckFailed as failure:  # an overflow, or log 0, is the unstable loss; 1 / 0 a division by zero
        fail(failure.detail, "loss_unstable" if "overflow" in failure.detail or " in log" in failure.detail
             else "division_by_zero" if "divide by zero" in failure.detail else None)
    loss, dlogits = expect_tuple(result, "bce_with_logits(logits, y)", 2)
    loss = expect_scalar(loss, "loss of bce_with_logits([0, 2, -3, 1e4, -1e4], [1, 0, 1, 0, 0])",
                         finite=False)
    if not np.isfinite(loss):
        fail(f"the loss is {loss} for logits of ±1e4; it should be a finite number", "loss_unstable")
    per_sample = np.array([np.log(2.0), np.log1p(np.exp(2.0)), np.log1p(np.exp(3.0)), 1e4, 0.0])
    if loss < 0.5 * per_sample.mean():  # right for moderate logits, far too small here: each sample's loss capped
        moderate, labels = np.array([-3.0, -0.5, 0.7, 2.5]), np.array([1.0, 0.0, 0.0, 1.0])
        with np.errstate(all="ignore"):
            small = expect_tuple(student.bce_with_logits(moderate.copy(), labels.copy()), "bce_with_logits", 2)[0]
        if np.isclose(expect_scalar(small, "the loss for moderate logits"),
                      np.mean(np.logaddexp(0.0, moderate) - labels * moderate), rtol=1e-9, atol=1e-12):
            fail(f"the mean loss is {loss:.6g}, far below the true {per_sample.mean():.6g}: a logit of 1e4 on the "
                 "wrong class should cost about 1e4, though the loss is right for moderate logits", "loss_clipped")
    assert_close(loss, per_sample.mean(), "the mean loss (a logit of 1e4 with label 0 costs 1e4)",
                 rtol=1e-10, atol=1e-12)
    dlogits = expect_array(dlogits, "dlogits", shape=(5,))
    sigma = np.array([0.5, 1 / (1 + np.exp(-2.0)), 1 / (1 + np.exp(3.0)), 1.0, 0.0])
    assert_close(dlogits, (sigma - y) / 5, "dlogits = (sigmoid(s) - y) / N", rtol=1e-9, atol=1e-12,
                 mistakes={"dlogits_missing_1_over_n": sigma - y})
    s = rng.normal(scale=3.0, size=9)  # and fresh values, which no fixed answer fits
    y = (rng.uniform(size=9) < 0.5).astype(np.float64)
    loss, dlogits = expect_tuple(student.bce_with_logits(s.copy(), y.copy()), "bce_with_logits(logits, y)", 2)
    assert_close(expect_scalar(loss, "loss for random logits of shape (9,)"),
                 np.mean(np.logaddexp(0.0, s) - y * s), "the mean loss for random logits of shape (9,)",
                 rtol=1e-10, atol=1e-12)
    assert_close(expect_array(dlogits, "dlogits", shape=(9,)), (1 / (1 + np.exp(-s)) - y) / 9,
                 "dlogits for random logits of shape (9,)", rtol=1e-9, atol=1e-12,
                 mistakes={"dlogits_missing_1_over_n": 1 / (1 + np.exp(-s)) - y})


def test_mlp_gradients_finite_difference(student, rng):
    sizes = [3, 4, 2, 1]
    params = _random_params(rng, sizes)
    x = rng.normal(size=(5, 3))
    y = (rng.uniform(size=5) < 0.5).astype(np.float64)
    logits, caches = expect_tuple(student.mlp_forward(_copy(params), x.copy()), "mlp_forward(params, x)", 2)
    logits = expect_array(logits, "logits of mlp_forward for x of shape (5, 3)", shape=(5,))
    loss, dlogits = expect_tuple(student.bce_with_logits(logits, y.copy()), "bce_with_logits(logits, y)", 2)
    assert_close(expect_scalar(loss, "loss"), _loss(params, x, y), "the loss of the network",
                 rtol=1e-9, atol=1e-12)
    grads = _param_dict(student.mlp_backward(expect_array(dlogits, "dlogits", shape=(5,)), caches),
                        params, "mlp_backward(dlogits, caches)")
    for name, value in params.items():
        numeric = _central_difference(lambda: _loss(params, x, y), value)
        assert_close(grads[name], numeric, f"grads[{name!r}] compared with central differences of the loss",
                     rtol=1e-5, atol=1e-8)


def _adam_constant_step(g, step, lr, t=None, bias_correction=True, eps_inside_sqrt=False,
                        beta1=0.9, beta2=0.999, eps=1e-8):
    """How far Adam moves a parameter at ``step`` (1, 2, ...) when every gradient so far was g, with
    the bias correction of ``t`` (the step by default) and a mistake or two switched on."""
    t = step if t is None else t
    m, v = (1 - beta1 ** step) * g, (1 - beta2 ** step) * g ** 2
    if bias_correction:
        m, v = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return lr * m / (np.sqrt(v + eps) if eps_inside_sqrt else np.sqrt(v) + eps)


def test_adam_first_steps(student, rng):
    params = {"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=2)}
    grads = {"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=2)}
    lr, state, current = 0.1, {}, _copy(params)
    # with the same gradient every step, the bias-corrected m̂ and v̂ are g and g² at every t,
    # so each step moves every parameter by lr * g / (|g| + eps): about lr against the gradient's sign
    for step in (1, 2):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = student.adam_step(_copy(current), _copy(grads), state, lr)
        result = expect_tuple(result, f"adam_step (step {step})", 2)
        if step == 1 and type(result[0]) is dict and any(
                type(v) is np.ndarray and not np.all(np.isfinite(v)) for v in result[0].values()):
            # at t = 0 the bias correction 1 - beta ** t is 0 and divides by zero (other nans: other causes)
            said = " ".join(str(w.message) for w in caught)
            fail("the first adam_step from state {} gives nan or inf" + (f" ({said[:200]})" if said else ""),
                 "adam_t_from_zero" if "divide" in said else None)
        new = _param_dict(result[0], params, f"the params after adam_step {step}")
        state = result[1]
        expected = {k: current[k] - lr * grads[k] / (np.abs(grads[k]) + 1e-8) for k in params}
        for name in params:
            g = grads[name]
            mistakes = {mistake: current[name] - _adam_constant_step(g, step, lr, **switches) for mistake, switches in (
                ("adam_no_bias_correction", {"bias_correction": False}), ("adam_t_not_incremented", {"t": 1}),
                ("adam_eps_inside_sqrt", {"eps_inside_sqrt": True}))}
            try:
                assert_close(new[name], expected[name],
                             f"{name} after step {step} with a constant gradient (it should move by lr "
                             "against the gradient's sign)", rtol=1e-7, atol=1e-9, mistakes=mistakes)
            except CheckFailed as failure:  # a factor or an offset between two steps says little of the cause
                if failure.mistake in mistakes:
                    raise
                fail(failure.detail)
        current = expected
    # then the gradient turns around: Adam's first moment still remembers the old direction, so
    # the parameters go on the same way by about a quarter of lr (a step by the new gradient alone
    # would go back by lr)
    result = expect_tuple(student.adam_step(_copy(current), {k: -g for k, g in grads.items()}, state, lr),
                          "adam_step (step 3)", 2)
    new = _param_dict(result[0], params, "the params after adam_step 3")
    for name in params:
        moved = (new[name] - current[name]) / (-lr * np.sign(grads[name]))  # in units of lr, the old way
        if not np.all((moved > 0.1) & (moved < 0.5)):
            fail(f"{name} after step 3, where the gradient turned around, moved by {np.round(moved, 3).tolist()} "
                 "times lr in the old direction; Adam's momentum keeps it going that way by about 0.26")


def test_train_and_predict_on_moons(student, rng):
    data_rng = np.random.default_rng(2024)
    x_train, y_train = make_moons(300, noise=0.15, rng=data_rng)
    x_test, y_test = make_moons(500, noise=0.15, rng=data_rng)
    turn = int(rng.integers(2**32))  # the same turn and label swap for both sets
    (x_train, y_train), (x_test, y_test) = (_turned(x, y, np.random.default_rng(turn))
                                            for x, y in ((x_train, y_train), (x_test, y_test)))
    epochs = 30
    params, losses = expect_tuple(
        student.train(x_train, y_train, [2, 32, 32, 1], epochs=epochs, lr=0.01, batch_size=32, seed=0),
        "train(x, y, [2, 32, 32, 1], epochs=30, lr=0.01, batch_size=32, seed=0)", 2)
    if type(losses) in (list, tuple):
        losses = np.array([expect_scalar(v, f"losses[{i}]") for i, v in enumerate(losses)])
    losses = expect_array(losses, "losses (one mean loss per epoch)", shape=(epochs,))
    if not losses[-1] < losses[0]:
        fail(f"the loss went from {losses[0]:.4g} in the first epoch to {losses[-1]:.4g} in the last; "
             "it should go down")
    labels = expect_array(student.predict(params, x_test), "predict(params, x) for x of shape (500, 2)",
                          shape=(500,), kinds="biuf")
    if not np.all((labels == 0) | (labels == 1)):
        fail("predict should return only 0 and 1")
    accuracy = float(np.mean(labels == y_test))
    if accuracy < 0.95:
        fail(f"the trained network classifies {accuracy:.1%} of 500 new points correctly; "
             "at least 95% is expected")
