"""Public tests for exercise 04 (dropout).

Run them from this folder with ``pytest``. They check the dropout layer's outputs and mask, the
network in eval mode against the tests' own forward pass and finite differences, and a training
history against the losses of the parameters you return. Randomness is judged by properties,
never by the exact numbers your generator draws. A property (the identity in eval mode, refusing
a bad p, ...) counts only where the function does its task: a layer that drops units, a training
run whose parameters are trained. The grader runs these and further hidden tests on fresh random
inputs, so passing here is a good sign, not a guarantee.
"""
import numpy as np

from dropout_support import STUDY_SETTINGS, make_data
from nnex_check import assert_close, expect_array, expect_raises, expect_scalar, expect_tuple, fail

STUDENT_MODULE = "dropout"
# Trained parameters give a loss well below chance's, the best constant prediction's (about 0.67
# to 0.69 here): at most this fraction of it. The worked solution reaches 0.42 to 0.44 (of a limit
# of 0.57) in test_train_with_dropout_history and at most 0.30 (of 0.58) in the study (p = 0.3), whatever
# masks it draws; untrained weights give 0.69 or more.
TRAINED_FRACTION = 0.85


def _forward(params, x, hidden_scale=1.0):
    """The tests' own eval-mode forward pass: logits (N,) of a ReLU network (not your code).
    hidden_scale multiplies every hidden unit (1 - p: classic dropout's eval mode)."""
    n_layers = len(params) // 2
    h = x
    for layer in range(1, n_layers):
        h = hidden_scale * np.maximum(h @ params[f"W{layer}"] + params[f"b{layer}"], 0.0)
    return (h @ params[f"W{n_layers}"] + params[f"b{n_layers}"])[:, 0]


def _loss(params, x, y, hidden_scale=1.0):
    """The tests' own mean logistic loss of the network's logits."""
    z = _forward(params, x, hidden_scale)
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def _chance_loss(y):
    """The loss of the best constant prediction (the labels' frequency): what an untrained network gets."""
    q = float(np.mean(y))
    return float(-(q * np.log(q) + (1 - q) * np.log(1 - q)))


def _check_drops(out, x, call, what):
    """out (of training mode, 0 < p < 1) sets some entries to 0 and multiplies the others by one
    factor: what a dropout layer does. The identity, zeros or random numbers do not."""
    dropped = out == 0
    ratios = out[~dropped] / x[~dropped]
    if dropped.all() or not dropped.any() or not (ratios[0] > 0 and np.allclose(ratios, ratios[0], rtol=1e-9, atol=0)):
        fail(f"{what} is checked only for a layer that drops units: {call} should set some entries of out to 0 "
             f"and multiply the others by 1/(1 - p); it set {dropped.mean():.0%} of them to 0")


def _check_a_working_layer(student, rng, what):
    """dropout_forward(x, 0.5, True, rng) drops about half of 2000 entries and scales the others."""
    x = rng.normal(size=(40, 50))
    call = "dropout_forward(x, 0.5, True, rng)"
    out, _ = expect_tuple(student.dropout_forward(x.copy(), 0.5, True, rng), call, 2)
    out = expect_array(out, f"out of {call}", shape=x.shape)
    _check_drops(out, x, call, what)
    if not 0.2 <= np.mean(out == 0) <= 0.8:
        fail(f"{what} is checked only for a layer that drops units: {call} set {np.mean(out == 0):.0%} of the "
             "entries to 0; about half of them should be")


def _check_trained(params, data, call, p):
    """The returned params fit the training data: a loss well below chance's (or, for a network
    trained without the rescaling, with its hidden units multiplied by 1 - p: that mistake costs
    other tests). Untrained weights with a history made up to match them do not."""
    x_tr, y_tr = data[0], data[1]
    loss, limit = _loss(params, x_tr, y_tr), TRAINED_FRACTION * _chance_loss(y_tr)
    if min(loss, _loss(params, x_tr, y_tr, 1 - p)) > limit:
        fail(f"the params of {call} give a training loss of {loss:.3f} (eval mode), not well below the "
             f"{_chance_loss(y_tr):.3f} of a constant prediction (at most {limit:.3f}): return the trained params")


def _random_params(rng, sizes):
    return {name: value for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1)
            for name, value in ((f"W{layer}", rng.normal(scale=1.0 / np.sqrt(fan_in), size=(fan_in, fan_out))),
                                (f"b{layer}", rng.normal(scale=0.2, size=fan_out)))}


def _history(value, epochs, name):
    """A history dict as two float arrays of length epochs."""
    if type(value) is not dict or set(value) != {"train_loss", "val_loss"}:
        fail(f"{name} should be a dict with the keys 'train_loss' and 'val_loss'")
    curves = {}
    for key, curve in value.items():
        if type(curve) in (list, tuple):
            curve = np.array([expect_scalar(v, f"{name}[{key!r}][{i}]") for i, v in enumerate(curve)])
        curves[key] = expect_array(curve, f"{name}[{key!r}]", shape=(epochs,))
    return curves


def test_dropout_forward_zeroes_or_scales_every_entry(student, rng):
    # p = 0.25, not 0.5: there dropping with probability p and keeping with probability p look alike
    x = rng.normal(size=(50, 40))
    out, mask = expect_tuple(student.dropout_forward(x.copy(), 0.25, True, rng), "dropout_forward(x, 0.25, True, rng)",
                             2)
    out = expect_array(out, "out", shape=x.shape)
    mask = expect_array(mask, "mask", shape=x.shape, kinds="biuf")
    dropped = out == 0
    if not np.all(dropped | np.isclose(out, x / 0.75, rtol=1e-12, atol=0)):
        fail("with p = 0.25 every entry of out should be 0 (dropped) or x / 0.75 (kept, scaled by 1/(1 - p))")
    if not 0.15 < dropped.mean() < 0.35:  # the expected 25% of 2000 entries is 10 standard errors from either end
        fail(f"with p = 0.25 about a quarter of the entries should be dropped (p is the probability of dropping); "
             f"{dropped.mean():.0%} were")
    assert_close(out, x * mask, "out compared with x * mask (the mask is what x was multiplied by)",
                 rtol=1e-12, atol=0)


def test_dropout_forward_is_the_identity_in_eval_mode_and_for_p_zero(student, rng):
    _check_a_working_layer(student, rng, "the identity in eval mode and for p = 0")
    x = rng.normal(size=(20, 30))
    out, _ = expect_tuple(student.dropout_forward(x.copy(), 0.5, False, rng), "dropout_forward(x, 0.5, False, rng)", 2)
    assert_close(expect_array(out, "out in eval mode", shape=x.shape), x,
                 "out in eval mode (nothing is dropped or scaled)", rtol=1e-12, atol=0)
    out, _ = expect_tuple(student.dropout_forward(x.copy(), 0.0, True, rng), "dropout_forward(x, 0.0, True, rng)", 2)
    assert_close(expect_array(out, "out with p = 0", shape=x.shape), x, "out with p = 0", rtol=1e-12, atol=0)


def test_dropout_forward_rejects_p_outside_0_1(student, rng):
    _check_a_working_layer(student, rng, "refusing a bad p")  # code that always raises refuses them all
    x = rng.normal(size=(4, 5))
    for p in (1.0, -0.2):
        with expect_raises(ValueError, f"dropout_forward(x, p={p}, True, rng)"):
            student.dropout_forward(x.copy(), p, True, rng)


def test_dropout_backward_goes_through_the_mask(student, rng):
    x = rng.normal(size=(30, 20))
    out, mask = expect_tuple(student.dropout_forward(x.copy(), 0.25, True, rng), "dropout_forward(x, 0.25, True, rng)", 2)
    out = expect_array(out, "out", shape=x.shape)
    _check_drops(out, x, "dropout_forward(x, 0.25, True, rng)", "the backward pass")  # zeros, the identity: no
    dout = rng.normal(size=x.shape)
    dx = expect_array(student.dropout_backward(dout.copy(), mask), "dropout_backward(dout, mask)", shape=x.shape)
    assert_close(dx, dout * out / x, "dx compared with dout * (what x was multiplied by)", rtol=1e-10, atol=1e-12)


def test_mlp_dropout_forward_in_eval_mode(student, rng):
    sizes = [4, 6, 5, 1]
    params, x = _random_params(rng, sizes), rng.normal(size=(7, 4))
    result = student.mlp_dropout_forward({k: v.copy() for k, v in params.items()}, x.copy(), 0.5, False, rng)
    logits, _ = expect_tuple(result, "mlp_dropout_forward(params, x, 0.5, False, rng)", 2)
    logits = expect_array(logits, "logits", shape=(7,))
    assert_close(logits, _forward(params, x), "logits in eval mode", rtol=1e-10, atol=1e-12)


def test_mlp_dropout_backward_in_eval_mode_finite_differences(student, rng):
    sizes = [3, 5, 4, 1]
    params, x, y = _random_params(rng, sizes), rng.normal(size=(6, 3)), rng.integers(0, 2, size=6).astype(float)
    z = _forward(params, x)
    dlogits = (1.0 / (1.0 + np.exp(-z)) - y) / 6
    result = student.mlp_dropout_forward({k: v.copy() for k, v in params.items()}, x.copy(), 0.3, False, rng)
    _, caches = expect_tuple(result, "mlp_dropout_forward(params, x, 0.3, False, rng)", 2)
    grads = student.mlp_dropout_backward(dlogits, caches)
    if type(grads) is not dict or set(grads) != set(params):
        fail(f"mlp_dropout_backward should return a dict with the keys {sorted(params)}")
    eps = 1e-6
    for name, value in params.items():
        numerical = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            shifted = {k: v.copy() for k, v in params.items()}
            shifted[name][index] = value[index] + eps
            up = _loss(shifted, x, y)
            shifted[name][index] = value[index] - eps
            numerical[index] = (up - _loss(shifted, x, y)) / (2 * eps)
        assert_close(expect_array(grads[name], f"grads[{name!r}]", shape=value.shape), numerical,
                     f"grads[{name!r}] in eval mode, compared with central differences of the loss",
                     rtol=1e-5, atol=1e-8)


def _training(result, hidden, epochs, call):
    """(params with float arrays of the right shapes, history as two curves) of train_with_dropout."""
    params, history = expect_tuple(result, call, 2)
    sizes = [2, *hidden, 1]
    shapes = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        shapes[f"W{layer}"], shapes[f"b{layer}"] = (fan_in, fan_out), (fan_out,)
    if type(params) is not dict or set(params) != set(shapes):
        fail(f"the params of {call} should be a dict with the keys {sorted(shapes)}")
    params = {name: expect_array(params[name], f"params[{name!r}]", shape=shapes[name]) for name in sorted(shapes)}
    return params, _history(history, epochs, f"the history of {call}")


def test_train_with_dropout_history(student):
    data = make_data(n_train=20, n_val=30, seed=3)
    x_tr, y_tr, x_val, y_val = data
    call = "train_with_dropout(..., p=0.2, hidden=(16,), epochs=50, lr=0.5, seed=0)"
    params, curves = _training(student.train_with_dropout(x_tr, y_tr, x_val, y_val, p=0.2, hidden=(16,), epochs=50,
                                                          lr=0.5, seed=0), (16,), 50, call)
    assert_close(curves["train_loss"][-1], _loss(params, x_tr, y_tr),
                 "history['train_loss'][-1] compared with the eval-mode training loss of the returned params")
    assert_close(curves["val_loss"][-1], _loss(params, x_val, y_val),
                 "history['val_loss'][-1] compared with the eval-mode validation loss of the returned params")
    _check_trained(params, data, call, 0.2)  # a history that matches untrained params is no training


def test_dropout_study_returns_one_history_per_p(student):
    # p = 0.3, not 0.5: a study that passes 1 - p on would give the same runs at 0.5
    histories = student.dropout_study(ps=(0.3,), seed=0)
    if type(histories) is not dict or list(histories) != [0.3]:
        fail("dropout_study(ps=(0.3,), seed=0) should return a dict with the single key 0.3")
    epochs = STUDY_SETTINGS["epochs"]
    curves = _history(histories[0.3], epochs, "dropout_study(...)[0.3]")
    # curves made up for the study are not a study: they must be those of a real training run
    data = make_data()
    call = "train_with_dropout(*make_data(), p=0.3, seed=0, **STUDY_SETTINGS)"
    params, run = _training(student.train_with_dropout(*data, p=0.3, seed=0, **STUDY_SETTINGS),
                            STUDY_SETTINGS["hidden"], epochs, call)
    _check_trained(params, data, call, 0.3)
    loss = _loss(params, data[0], data[1])
    if not 0.5 * loss <= run["train_loss"][-1] <= 2 * loss:
        fail(f"the study is checked only for a history that belongs to its params: history['train_loss'][-1] "
             f"of {call} is {run['train_loss'][-1]:.4g}, far from the eval-mode training loss of its params, "
             f"{loss:.4g}")
    for key in ("train_loss", "val_loss"):
        assert_close(curves[key], run[key], f"dropout_study(ps=(0.3,), seed=0)[0.3][{key!r}], compared with "
                     f"history[{key!r}] of {call}", rtol=1e-9, atol=1e-12)
