"""Hidden tests for exercise 04 (dropout). Never shown to students.

Randomness is judged by properties that every correct answer has, never by the numbers a
generator draws: each output is 0 or x/(1 - p), the dropped fraction and the mean within a few
standard errors, eval mode and p = 0 the identity, masks that change from call to call but not
for the same generator state. Gradients are compared with autograd (eval mode) and with finite
differences of the student's own forward pass replayed from the same generator state (training
mode). Training outcomes are recomputed here, in eval mode, from the parameters the student
returns, and the PyTorch reference replays training without dropout.
"""
import numpy as np
import pytest

from dropout_support import STUDY_SETTINGS, init_params, make_data, plot_curves
from nnex_check import (assert_close, expect_array, expect_raises, expect_scalar, expect_tuple,
                        fail)
from reference import dropout as ref

STUDENT_MODULE = "dropout"
STUDY_SEED = 20240  # the seed of the study runs shared by the last two tests
STUDY_PS = (0.0, 0.5)  # trained with train_with_dropout; dropout_study is asked for the last one
MAX_GAP_RATIO = 0.6  # measured: 0.17 to 0.36 over 40 seeds and two ways of drawing masks


# ---------------------------------------------------------------- helpers (judge side only)

def _np(value):
    """A reference result as float64 NumPy (array, or Python float for 0-d)."""
    array = value.detach().cpu().double().numpy()
    return float(array) if array.ndim == 0 else array


def _random_params(rng, sizes):
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{layer}"] = rng.normal(scale=1.0 / np.sqrt(fan_in), size=(fan_in, fan_out))
        params[f"b{layer}"] = rng.normal(scale=0.2, size=fan_out)  # nonzero: a wrong bias path shows
    return params


def _copy(params):
    return {name: value.copy() for name, value in params.items()}


def _layer_result(result, x, call):
    """(out as float64, mask as returned) of dropout_forward."""
    out, mask = expect_tuple(result, call, 2)
    return expect_array(out, f"out of {call}", shape=x.shape), mask


def _mask_array(mask, x, call):
    return expect_array(mask, f"mask of {call}", shape=x.shape, kinds="biuf")


def _forward_result(result, n, call):
    logits, caches = expect_tuple(result, call, 2)
    return expect_array(logits, f"logits of {call}", shape=(n,)), caches


def _grads(value, params, call):
    if type(value) is not dict or set(value) != set(params):
        got = sorted(value) if type(value) is dict else type(value).__name__
        fail(f"{call} should return a dict with the keys {sorted(params)}; got {got}")
    return {name: expect_array(value[name], f"{call}[{name!r}]", shape=params[name].shape) for name in params}


def _params_result(value, sizes, call):
    names = {f"{kind}{layer}" for layer in range(1, len(sizes)) for kind in "Wb"}
    if type(value) is not dict or set(value) != names:
        fail(f"the params of {call} should be a dict with the keys {sorted(names)} (layer sizes {sizes})")
    shapes = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        shapes[f"W{layer}"], shapes[f"b{layer}"] = (fan_in, fan_out), (fan_out,)
    return {name: expect_array(value[name], f"params[{name!r}] of {call}", shape=shapes[name]) for name in names}


def _history(value, epochs, call):
    if type(value) is not dict or set(value) != {"train_loss", "val_loss"}:
        fail(f"the history of {call} should be a dict with the keys 'train_loss' and 'val_loss'")
    curves = {}
    for key in ("train_loss", "val_loss"):
        curve = value[key]
        if type(curve) in (list, tuple):
            curve = np.array([expect_scalar(v, f"history[{key!r}][{i}]") for i, v in enumerate(curve)])
        curves[key] = expect_array(curve, f"history[{key!r}] of {call}", shape=(epochs,))
    return curves


def _training(result, sizes, epochs, call):
    params, history = expect_tuple(result, call, 2)
    return _params_result(params, sizes, call), _history(history, epochs, call)


def _eval_loss(params, x, y):
    """The judge's own eval-mode loss of the returned parameters."""
    return _np(ref.loss(params, x, y))


def _check_history_ends(params, curves, data, call):
    """The last history entries are the eval-mode losses of the returned params; returns those."""
    x_tr, y_tr, x_val, y_val = data
    recomputed = {"train_loss": _eval_loss(params, x_tr, y_tr), "val_loss": _eval_loss(params, x_val, y_val)}
    for key, loss in recomputed.items():
        if not np.isclose(curves[key][-1], loss, rtol=1e-6, atol=1e-9):
            fail(f"history[{key!r}][-1] of {call} is {curves[key][-1]:.6g}, but the returned params "
                 f"give an eval-mode loss of {loss:.6g}", "history_not_eval")
    return recomputed["train_loss"], recomputed["val_loss"]


def _within(value, expected, tolerance, name, mistakes):
    """value must be within tolerance of expected; when it is not, name the mistake it matches."""
    if abs(value - expected) <= tolerance:
        return
    for mistake, wrong in mistakes.items():
        if abs(value - wrong) <= tolerance:
            fail(f"{name} is {value:.4g}; expected {expected:.4g} (± {tolerance:.2g})", mistake)
    fail(f"{name} is {value:.4g}; expected {expected:.4g} (± {tolerance:.2g})")


# ---------------------------------------------------------------- dropout_forward

def test_dropout_forward_outputs_are_zero_or_scaled(student, rng):
    x = rng.normal(size=(300, 40))                                   # no entry is exactly 0
    p = 0.3
    before = x.copy()
    call = "dropout_forward(x, 0.3, True, rng)"
    out, mask = _layer_result(student.dropout_forward(x, p, True, rng), x, call)
    if not np.array_equal(x, before):
        fail("dropout_forward changed the caller's x; return a new array", "x_modified")
    dropped = out == 0

    def only(kept_value):
        return bool(np.all(dropped | np.isclose(out, kept_value, rtol=1e-12, atol=0)))

    if not only(x / (1 - p)):
        if dropped.any() and only(x):
            fail("the kept entries of out equal x: they should be x / (1 - p)", "no_scaling")
        if dropped.any() and only(x / p):
            fail("the kept entries of out are x / p; p is the probability of dropping, so they "
                 "should be x / (1 - p)", "keep_prob")
        if not dropped.any():
            fail("no entry of out is 0 in training mode with p = 0.3")
        fail("every entry of out should be 0 (dropped) or x / (1 - p) (kept)")
    mask = _mask_array(mask, x, call)
    if np.all((mask == 0) | (mask == 1)) and not np.allclose(out, x * mask, rtol=1e-12, atol=0):
        fail("mask holds 0 and 1; it should be what x was multiplied by: 0 or 1/(1 - p)",
             "mask_not_multiplier")
    assert_close(out, x * mask, f"out of {call}, compared with x * mask (mask: what x was multiplied by)",
                 rtol=1e-12, atol=0)


@pytest.mark.parametrize("p", [0.2, 0.6])
def test_dropout_forward_drops_a_fraction_p_and_keeps_the_mean(student, rng, p):
    x = rng.uniform(0.5, 1.5, size=(250, 200))                       # 50 000 positive entries
    call = f"dropout_forward(x, {p}, True, rng)"
    out, _ = _layer_result(student.dropout_forward(x.copy(), p, True, rng), x, call)
    n = x.size
    dropped = float(np.mean(out == 0))
    _within(dropped, p, 6 * np.sqrt(p * (1 - p) / n), f"the fraction of dropped entries with p = {p}",
            {"keep_prob": 1 - p})
    # E[out_i] = x_i; Var[out_i] = x_i^2 p / (1 - p), so the mean has this standard error
    tolerance = 6 * np.sqrt(np.sum(x ** 2) * p / (1 - p)) / n
    _within(float(out.mean()), float(x.mean()), tolerance, f"the mean of out with p = {p} (it should be the mean of x)",
            {"no_scaling": float(x.mean()) * (1 - p), "keep_prob": float(x.mean()) * p / (1 - p)})


@pytest.mark.parametrize("p", [0.3, 0.8])
def test_dropout_forward_is_the_identity_in_eval_mode(student, rng, p):
    x = rng.normal(size=(40, 30))
    call = f"dropout_forward(x, {p}, False, rng)"
    out, mask = _layer_result(student.dropout_forward(x.copy(), p, False, rng), x, call)
    zero_or_scaled = np.all((out == 0) | np.isclose(out, x / (1 - p), rtol=1e-12, atol=0))
    assert_close(out, x, f"out of {call} (eval mode: nothing is dropped or scaled)", rtol=1e-12, atol=0,
                 mistakes={"eval_scaled": x * (1 - p), **({"dropout_in_eval": out} if zero_or_scaled else {})})
    dout = rng.normal(size=x.shape)
    dx = expect_array(student.dropout_backward(dout.copy(), mask), "dropout_backward(dout, mask) in eval mode",
                      shape=x.shape)
    assert_close(dx, dout, "dropout_backward(dout, mask) with the mask of eval mode", rtol=1e-12, atol=0,
                 mistakes={"eval_scaled": dout * (1 - p)})


def test_dropout_forward_with_p_zero_is_the_identity(student, rng):
    x = rng.normal(size=(25, 16))
    call = "dropout_forward(x, 0.0, True, rng)"
    out, mask = _layer_result(student.dropout_forward(x.copy(), 0.0, True, rng), x, call)
    assert_close(out, x, f"out of {call}", rtol=1e-12, atol=0)
    dout = rng.normal(size=x.shape)
    dx = expect_array(student.dropout_backward(dout.copy(), mask), "dropout_backward(dout, mask) for p = 0",
                      shape=x.shape)
    assert_close(dx, dout, "dropout_backward(dout, mask) for p = 0", rtol=1e-12, atol=0)


def test_dropout_forward_refuses_every_p_outside_0_1(student, rng):
    x = rng.normal(size=(6, 5))
    for p in (0.0, 0.99):  # refusing is worth something only where valid p are accepted
        call = f"dropout_forward(x, p={p}, True, rng)"
        out, _ = _layer_result(student.dropout_forward(x.copy(), p, True, rng), x, call)
        if not np.all(np.isclose(out, 0.0) | np.isclose(out, x / (1 - p))):
            fail(f"{call}: every output should be 0 or x / (1 - p)")
    for p in (1.0, 1.5, -0.1, -1.0):
        with expect_raises(ValueError, f"dropout_forward(x, p={p}, True, rng)", "p_not_checked"):
            student.dropout_forward(x.copy(), p, True, rng)


def test_dropout_masks_change_between_calls_and_come_from_rng(student, rng):
    x = np.ones((30, 40))
    call = "dropout_forward(x, 0.5, True, rng)"
    first, _ = _layer_result(student.dropout_forward(x.copy(), 0.5, True, rng), x, call)
    second, _ = _layer_result(student.dropout_forward(x.copy(), 0.5, True, rng), x, call)
    if np.array_equal(first, second):
        fail("two calls with the same generator dropped exactly the same 1200 entries: each call "
             "must draw a new mask from rng", "rng_ignored")
    seed = int(rng.integers(2**31))
    replays = [_layer_result(student.dropout_forward(x.copy(), 0.5, True, np.random.default_rng(seed)), x, call)[0]
               for _ in range(2)]
    if not np.array_equal(*replays):
        fail("two generators in the same state gave different masks: draw the mask from the rng "
             "argument only", "global_random")


def test_dropout_backward_reuses_the_forward_mask(student, rng):
    x = rng.normal(size=(60, 50))
    p = 0.4
    call = "dropout_forward(x, 0.4, True, rng)"
    out, mask = _layer_result(student.dropout_forward(x.copy(), p, True, rng), x, call)
    multiplier = out / x                                             # what x was multiplied by
    dout = rng.normal(size=x.shape)
    dx = expect_array(student.dropout_backward(dout.copy(), mask), "dropout_backward(dout, mask)", shape=x.shape)
    fresh = np.all((dx == 0) | np.isclose(dx, dout / (1 - p), rtol=1e-12, atol=0))
    assert_close(dx, _np(ref.dropout_backward(x, multiplier, dout)), "dx of dropout_backward(dout, mask), compared with dout times "
                 "what the forward pass multiplied x by", rtol=1e-10, atol=1e-12,
                 mistakes={"backward_unscaled": dout * (multiplier != 0),
                           **({"fresh_mask_in_backward": dx} if fresh else {})})


# ---------------------------------------------------------------- the network

def test_mlp_dropout_forward_in_eval_mode_matches_reference(student, rng):
    sizes, n = [5, 7, 6, 1], 9
    params, x = _random_params(rng, sizes), rng.normal(size=(n, 5))
    expected = _np(ref.mlp_forward(params, x))
    call = "mlp_dropout_forward(params, x, 0.0, True, rng)"
    logits, _ = _forward_result(student.mlp_dropout_forward(_copy(params), x.copy(), 0.0, True, rng), n, call)
    assert_close(logits, expected, f"logits of {call} (p = 0: no dropout)", rtol=1e-10, atol=1e-12)
    call = "mlp_dropout_forward(params, x, 0.5, False, rng)"
    logits, _ = _forward_result(student.mlp_dropout_forward(_copy(params), x.copy(), 0.5, False, rng), n, call)
    halved = [np.full((n, size), 0.5) for size in sizes[1:-1]]     # classic dropout's test-time scaling
    assert_close(logits, expected, f"logits of {call} (eval mode)", rtol=1e-10, atol=1e-12,
                 mistakes={"eval_scaled": _np(ref.mlp_forward(params, x, halved)), "dropout_in_eval": logits})


def test_mlp_dropout_backward_in_eval_mode_matches_autograd(student, rng):
    sizes, n = [4, 6, 5, 1], 8
    params, x = _random_params(rng, sizes), rng.normal(size=(n, 4))
    y = rng.integers(0, 2, size=n).astype(np.float64)
    dlogits = _np(ref.loss_gradients(params, x, y))
    expected = {name: _np(grad) for name, grad in ref.mlp_backward(params, x, dlogits).items()}
    call = "mlp_dropout_forward(params, x, 0.5, False, rng)"
    _, caches = _forward_result(student.mlp_dropout_forward(_copy(params), x.copy(), 0.5, False, rng), n, call)
    grads = _grads(student.mlp_dropout_backward(dlogits.copy(), caches), params, "mlp_dropout_backward(dlogits, caches)")
    for name in params:
        assert_close(grads[name], expected[name], f"grads[{name!r}] in eval mode, compared with autograd",
                     rtol=1e-8, atol=1e-12)


def test_mlp_dropout_keeps_the_mean_and_spares_input_and_output(student, rng):
    # One hidden layer: the logit is linear in the dropped hidden units, so its mean over fresh
    # masks is the eval-mode logit; N copies of one input give N independent masks in one call.
    # Hidden unit j sees both inputs with the weight w_j and has the bias -w_j: dropping an input
    # would switch units off or push them up, and move the mean.
    hidden, n, p = 12, 20000, 0.5
    w = rng.uniform(0.5, 1.5, size=hidden)
    params = {"W1": np.stack([w, w]), "b1": -w, "W2": rng.uniform(0.5, 1.5, size=(hidden, 1)) / hidden,
              "b2": np.array([0.1])}
    x0 = np.ones((1, 2))
    call = "mlp_dropout_forward(params, x, 0.5, True, rng)"
    logits, _ = _forward_result(student.mlp_dropout_forward(_copy(params), np.repeat(x0, n, axis=0), p, True, rng),
                                n, call)
    if np.mean(logits == 0) > 0.05:
        fail(f"{np.mean(logits == 0):.0%} of the logits are exactly 0 in training mode: the output "
             "unit was dropped", "dropout_on_output")
    if np.all(logits == logits[0]):
        fail(f"{call} gave the same logit for {n} copies of one input: no hidden unit was dropped")
    eval_logit = _np(ref.mlp_forward(params, x0))[0]
    b_out = params["b2"][0]
    input_masks = np.array([[0, 0], [0, 1], [1, 0], [1, 1]]) / (1 - p)  # equally likely at p = 0.5
    input_dropped = float(np.mean(_np(ref.mlp_forward(params, x0 * input_masks))))
    tolerance = 6 * float(np.std(logits)) / np.sqrt(n) + 1e-12
    _within(float(logits.mean()), eval_logit, tolerance,
            "the mean of the training-mode logits over fresh masks (it should be the eval-mode logit)",
            {"no_scaling": b_out + (1 - p) * (eval_logit - b_out), "dropout_on_input": input_dropped})


def test_mlp_dropout_backward_matches_finite_differences_in_training_mode(student, rng):
    sizes, n, p = [3, 5, 4, 1], 4, 0.4
    params, x = _random_params(rng, sizes), rng.normal(size=(n, 3))
    seed, weights = int(rng.integers(2**31)), rng.normal(size=n)
    call = "mlp_dropout_forward(params, x, 0.4, True, np.random.default_rng(seed))"

    def objective(theta):
        """sum(weights * logits) of the student's forward pass, masks drawn from the same state."""
        result = student.mlp_dropout_forward(theta, x.copy(), p, True, np.random.default_rng(seed))
        return float(weights @ _forward_result(result, n, call)[0])

    logits, caches = _forward_result(student.mlp_dropout_forward(_copy(params), x.copy(), p, True,
                                                                 np.random.default_rng(seed)), n, call)
    replay, _ = _forward_result(student.mlp_dropout_forward(_copy(params), x.copy(), p, True,
                                                            np.random.default_rng(seed)), n, call)
    if not np.array_equal(logits, replay):
        fail("two generators in the same state gave different logits: draw every mask from the rng "
             "argument only", "global_random")
    grads = _grads(student.mlp_dropout_backward(weights.copy(), caches), params,
                   "mlp_dropout_backward(dlogits, caches)")
    eps = 1e-6
    for name, value in params.items():  # three entries of each parameter: two calls per entry
        entries = [np.unravel_index(i, value.shape) for i in rng.choice(value.size, size=min(3, value.size),
                                                                         replace=False)]
        numerical = np.zeros(len(entries))
        for k, index in enumerate(entries):
            theta = _copy(params)
            theta[name][index] = value[index] + eps
            up = objective(theta)
            theta[name][index] = value[index] - eps
            numerical[k] = (up - objective(theta)) / (2 * eps)
        assert_close(np.array([grads[name][index] for index in entries]), numerical,
                     f"grads[{name!r}] at {[tuple(int(i) for i in index) for index in entries]} in training "
                     "mode, compared with central differences of your forward pass with the same masks",
                     rtol=1e-5, atol=1e-8)


def test_mlp_dropout_backward_reuses_the_forward_masks(student, rng):
    # With one hidden layer, z_n - b2 = sum_j m_nj relu(a_nj) W2_j is linear in (W2, b2) and, since
    # relu(a) = a 1[a > 0], homogeneous of degree 1 in (W1, b1). So z_n = <dz_n/dW2, W2> + dz_n/db2 b2
    # = <dz_n/dW1, W1> + <dz_n/db1, b1> + b2 with the masks of the forward pass; a backward pass
    # through other masks breaks these identities.
    sizes, n, p = [3, 16, 1], 3, 0.5
    params, x = _random_params(rng, sizes), rng.normal(size=(n, 3))
    call = "mlp_dropout_forward(params, x, 0.5, True, rng)"
    logits, caches = _forward_result(student.mlp_dropout_forward(_copy(params), x.copy(), p, True, rng), n, call)
    backward = "mlp_dropout_backward(dlogits, caches)"
    for sample in range(n):
        dlogits = np.eye(n)[sample]
        grads = _grads(student.mlp_dropout_backward(dlogits, caches), params, backward)
        again = _grads(student.mlp_dropout_backward(dlogits.copy(), caches), params, backward)
        if not all(np.array_equal(grads[name], again[name]) for name in params):
            fail("two backward passes with the same caches gave different gradients: the backward "
                 "pass must reuse the masks of the forward pass", "fresh_mask_in_backward")
        rebuilt = grads["W2"][:, 0] @ params["W2"][:, 0] + grads["b2"][0] * params["b2"][0]
        if not np.isclose(rebuilt, logits[sample], rtol=1e-9, atol=1e-12):
            fail(f"the gradient of logit {sample} with respect to W2 is not the hidden activation "
                 "the forward pass used for it: the backward pass must reuse the forward pass's masks",
                 "fresh_mask_in_backward")
        rebuilt = np.sum(grads["W1"] * params["W1"]) + grads["b1"] @ params["b1"] + params["b2"][0]
        if not np.isclose(rebuilt, logits[sample], rtol=1e-9, atol=1e-12):
            fail(f"the gradients of logit {sample} with respect to W1 and b1 do not go through the "
                 "hidden units that the forward pass kept: the backward pass must reuse the forward "
                 "pass's masks", "fresh_mask_in_backward")


# ---------------------------------------------------------------- training

def test_train_without_dropout_is_gradient_descent(student, rng):
    data = make_data(n_train=25, n_val=40, seed=int(rng.integers(1000)))
    hidden, epochs, lr, seed = (6,), 12, 0.3, int(rng.integers(1000))
    sizes = [2, *hidden, 1]
    call = f"train_with_dropout(..., p=0.0, hidden=(6,), epochs=12, lr=0.3, seed={seed})"
    params, curves = _training(student.train_with_dropout(*(a.copy() for a in data), p=0.0, hidden=hidden,
                                                          epochs=epochs, lr=lr, seed=seed), sizes, epochs, call)
    params0 = init_params(sizes, np.random.default_rng(seed))
    expected, history = ref.train(*data, params0, 0.0, epochs, lr)
    for name in params:
        assert_close(params[name], _np(expected[name]),
                     f"params[{name!r}] after 12 epochs without dropout, compared with gradient descent "
                     "from init_params([2, 6, 1], np.random.default_rng(seed))", rtol=1e-8, atol=1e-12)
    for key, x, y in (("train_loss", data[0], data[1]), ("val_loss", data[2], data[3])):
        reference = _np(history[key])
        before = np.concatenate([[_eval_loss(params0, x, y)], reference[:-1]])
        assert_close(curves[key], reference, f"history[{key!r}] without dropout (entry k: after update k + 1)",
                     rtol=1e-8, atol=1e-12, mistakes={"history_before_update": before})


def test_train_with_dropout_history_matches_the_returned_params(student, rng):
    data = make_data(n_train=30, n_val=50, seed=int(rng.integers(1000)))
    hidden, epochs = (16, 16), 20
    call = "train_with_dropout(..., p=0.3, hidden=(16, 16), epochs=20, lr=0.2)"
    params, curves = _training(student.train_with_dropout(*(a.copy() for a in data), p=0.3, hidden=hidden,
                                                          epochs=epochs, lr=0.2, seed=int(rng.integers(1000))),
                               [2, *hidden, 1], epochs, call)
    _check_history_ends(params, curves, data, call)


@pytest.fixture(scope="module")
def study_runs(student):
    """{p: raw result of train_with_dropout} on the study's data and settings, seed STUDY_SEED."""
    data = make_data()
    return {p: student.train_with_dropout(*(a.copy() for a in data), p=p, seed=STUDY_SEED, **STUDY_SETTINGS)
            for p in STUDY_PS}


def test_dropout_shrinks_the_generalisation_gap(student, study_runs, figures):
    data = make_data()
    sizes, epochs = [2, *STUDY_SETTINGS["hidden"], 1], STUDY_SETTINGS["epochs"]
    losses, params, curves = {}, {}, {}
    for p in STUDY_PS:
        call = f"train_with_dropout(*make_data(), p={p}, seed={STUDY_SEED}, **STUDY_SETTINGS)"
        params[p], curves[p] = _training(study_runs[p], sizes, epochs, call)
        losses[p] = _check_history_ends(params[p], curves[p], data, call)
    figures.add("loss-curves", lambda: plot_curves(
        curves, title="Your loss curves (last points checked against your returned parameters)"))
    if all(np.array_equal(params[0.0][name], params[0.5][name]) for name in params[0.0]):
        fail("training with p = 0.5 returned exactly the parameters of p = 0: no unit was dropped "
             "during training", "dropout_off_in_training")
    gaps = {p: losses[p][1] - losses[p][0] for p in STUDY_PS}
    if not gaps[0.0] > 0.1:
        fail(f"without dropout the validation loss ({losses[0.0][1]:.3f}) should be well above the "
             f"training loss ({losses[0.0][0]:.3f}) on the study's data: the network should overfit")
    if not gaps[0.5] < MAX_GAP_RATIO * gaps[0.0]:
        fail(f"the generalisation gap (validation minus training loss, eval mode, recomputed from "
             f"your parameters) is {gaps[0.5]:.3f} with p = 0.5 and {gaps[0.0]:.3f} with p = 0; "
             f"dropout should shrink it to less than {MAX_GAP_RATIO:.0%} of the latter")


def test_dropout_study_gives_the_histories_of_train_with_dropout(student, study_runs):
    ps = STUDY_PS[-1:]
    result = student.dropout_study(ps=ps, seed=STUDY_SEED)
    call = f"dropout_study(ps={ps}, seed={STUDY_SEED})"
    if type(result) is not dict:
        fail(f"{call} should return a dict {{p: history}} whose keys are the floats of ps; got "
             "a value of another type (NumPy numbers as keys cannot be sent back: use the floats of ps)")
    if set(result) != set(ps):
        fail(f"{call} returned the keys {list(result)}; expected {list(ps)}")
    for p in ps:
        curves = _history(result[p], STUDY_SETTINGS["epochs"], call)
        _, expected = expect_tuple(study_runs[p], "train_with_dropout(...)", 2)
        expected = _history(expected, STUDY_SETTINGS["epochs"], "train_with_dropout(...)")
        for key in curves:
            assert_close(curves[key], expected[key],
                         f"history[{key!r}] of {call} for p = {p}, compared with train_with_dropout on "
                         "make_data() with STUDY_SETTINGS and the same seed", rtol=1e-9, atol=1e-12)
