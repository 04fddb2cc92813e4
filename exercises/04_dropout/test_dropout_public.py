"""Public tests for exercise 04 (dropout).

Run them from this folder with ``pytest``. They check the dropout layer's outputs and mask, the
network in eval mode against the tests' own forward pass and finite differences, and the shape
of a training history. Randomness is judged by properties, never by the exact numbers your
generator draws. The grader runs these and further hidden tests on fresh random inputs, so
passing here is a good sign, not a guarantee.
"""
import numpy as np

from dropout_support import STUDY_SETTINGS, make_data
from nnex_check import assert_close, expect_array, expect_raises, expect_scalar, expect_tuple, fail

STUDENT_MODULE = "dropout"


def _forward(params, x):
    """The tests' own eval-mode forward pass: logits (N,) of a ReLU network (not your code)."""
    n_layers = len(params) // 2
    h = x
    for layer in range(1, n_layers):
        h = np.maximum(h @ params[f"W{layer}"] + params[f"b{layer}"], 0.0)
    return (h @ params[f"W{n_layers}"] + params[f"b{n_layers}"])[:, 0]


def _loss(params, x, y):
    """The tests' own mean logistic loss of the network's logits."""
    z = _forward(params, x)
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


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
    x = rng.normal(size=(50, 40))
    out, mask = expect_tuple(student.dropout_forward(x.copy(), 0.5, True, rng), "dropout_forward(x, 0.5, True, rng)", 2)
    out = expect_array(out, "out", shape=x.shape)
    mask = expect_array(mask, "mask", shape=x.shape, kinds="biuf")
    dropped = out == 0
    if not np.all(dropped | np.isclose(out, 2 * x, rtol=1e-12, atol=0)):
        fail("with p = 0.5 every entry of out should be 0 (dropped) or 2 * x (kept, scaled by 1/(1 - p))")
    if not 0.3 < dropped.mean() < 0.7:
        fail(f"with p = 0.5 about half of the entries should be dropped; {dropped.mean():.0%} were")
    assert_close(out, x * mask, "out compared with x * mask (the mask is what x was multiplied by)",
                 rtol=1e-12, atol=0)


def test_dropout_forward_is_the_identity_in_eval_mode_and_for_p_zero(student, rng):
    x = rng.normal(size=(20, 30))
    out, _ = expect_tuple(student.dropout_forward(x.copy(), 0.5, False, rng), "dropout_forward(x, 0.5, False, rng)", 2)
    assert_close(expect_array(out, "out in eval mode", shape=x.shape), x,
                 "out in eval mode (nothing is dropped or scaled)", rtol=1e-12, atol=0)
    out, _ = expect_tuple(student.dropout_forward(x.copy(), 0.0, True, rng), "dropout_forward(x, 0.0, True, rng)", 2)
    assert_close(expect_array(out, "out with p = 0", shape=x.shape), x, "out with p = 0", rtol=1e-12, atol=0)


def test_dropout_forward_rejects_p_outside_0_1(student, rng):
    x = rng.normal(size=(4, 5))
    for p in (1.0, -0.2):
        with expect_raises(ValueError, f"dropout_forward(x, p={p}, True, rng)"):
            student.dropout_forward(x.copy(), p, True, rng)


def test_dropout_backward_goes_through_the_mask(student, rng):
    x = rng.normal(size=(30, 20))
    out, mask = expect_tuple(student.dropout_forward(x.copy(), 0.25, True, rng), "dropout_forward(x, 0.25, True, rng)", 2)
    out = expect_array(out, "out", shape=x.shape)
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


def test_train_with_dropout_history(student):
    x_tr, y_tr, x_val, y_val = make_data(n_train=20, n_val=30, seed=3)
    result = student.train_with_dropout(x_tr, y_tr, x_val, y_val, p=0.5, hidden=(8,), epochs=5, lr=0.2, seed=0)
    params, history = expect_tuple(result, "train_with_dropout(..., p=0.5, hidden=(8,), epochs=5, lr=0.2, seed=0)", 2)
    if type(params) is not dict or set(params) != {"W1", "b1", "W2", "b2"}:
        fail("params should be a dict with the keys W1, b1, W2, b2 for hidden=(8,)")
    for name, shape in (("W1", (2, 8)), ("b1", (8,)), ("W2", (8, 1)), ("b2", (1,))):
        params[name] = expect_array(params[name], f"params[{name!r}]", shape=shape)
    curves = _history(history, 5, "history")
    assert_close(curves["train_loss"][-1], _loss(params, x_tr, y_tr),
                 "history['train_loss'][-1] compared with the eval-mode training loss of the returned params")
    assert_close(curves["val_loss"][-1], _loss(params, x_val, y_val),
                 "history['val_loss'][-1] compared with the eval-mode validation loss of the returned params")


def test_dropout_study_returns_one_history_per_p(student):
    histories = student.dropout_study(ps=(0.5,), seed=0)
    if type(histories) is not dict or list(histories) != [0.5]:
        fail("dropout_study(ps=(0.5,), seed=0) should return a dict with the single key 0.5")
    _history(histories[0.5], STUDY_SETTINGS["epochs"], "dropout_study(...)[0.5]")
