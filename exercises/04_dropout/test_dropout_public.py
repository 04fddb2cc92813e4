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
from nnex_check import (CheckFailed, assert_close, call_with_arguments, expect_array, expect_raises, expect_scalar,
                        expect_tuple, fail)

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


def _eval_grads(params, x, dlogits, gate=lambda a: a > 0, draw=None):
    """The tests' own eval-mode gradients of the network (not your code), the ReLU's derivative
    taken as ``gate`` of the pre-activation; draw(h): a dropout mask drawn in the backward pass for
    the hidden layer of activation h (from the last hidden layer to the first), or None: no mask."""
    n_layers = len(params) // 2
    hs, pre = [x], []
    for layer in range(1, n_layers):
        pre.append(hs[-1] @ params[f"W{layer}"] + params[f"b{layer}"])
        hs.append(np.maximum(pre[-1], 0.0))
    grads, dz = {}, dlogits[:, None]
    for layer in range(n_layers, 0, -1):
        grads[f"W{layer}"], grads[f"b{layer}"] = hs[layer - 1].T @ dz, dz.sum(axis=0)
        if layer > 1:
            dh = dz @ params[f"W{layer}"].T
            dz = (dh if draw is None else dh * draw(hs[layer - 1])) * gate(pre[layer - 2])
    return grads


def _fresh_mask_grads(student, params, x, dlogits, p, rng_state):
    """[The eval-mode gradients of a backward pass that draws fresh masks with your dropout_forward(h, p,
    True, rng)] from the rng given to the forward pass (in the state ``rng_state``): one generator for
    every layer, and (the grader sends each cache's generator on its own) one copy of it per layer."""
    def generator():
        rng = np.random.default_rng()
        rng.bit_generator.state = rng_state
        return rng

    shared = generator()

    def draw(h, rng=None):
        nonlocal shared
        result, (_, _, _, after), _ = call_with_arguments(student.dropout_forward, h, p, True, rng or shared)
        if rng is None:
            shared = after
        return expect_array(expect_tuple(result, "dropout_forward", 2)[1], "mask", shape=h.shape)
    try:
        return [_eval_grads(params, x, dlogits, draw=draw),
                _eval_grads(params, x, dlogits, draw=lambda h: draw(h, generator()))]
    except Exception:  # a layer that fails here fails its own tests
        return []


def _raised(error, function):
    """'<function> raised ValueError: <its message>', in-process as the grader relays it."""
    first = str(error).splitlines()[0] if str(error) else ""
    return first if first.startswith(f"{function} raised ") else f"{function} raised {type(error).__name__}: {first}"


def _raised_value_error(error):
    """Whether ``error`` is a ValueError your code raised (in the grader: one relayed from it), not one
    of mismatched shapes."""
    text = str(error)
    relayed = type(error).__name__ == "StudentError" and " raised ValueError" in text.split(":")[0]
    return (isinstance(error, ValueError) or relayed) \
        and not any(word in text for word in ("shape", "broadcast", "mismatch", "dimension", "aligned"))


def _layer_mistake(student):
    """The mistake your dropout layer shows when it spoils a network or a training run, found by
    calling dropout_forward: nothing dropped in training mode, kept units not scaled, one mask row
    shared by every row of the batch, the same mask at every call, masks not drawn from rng; or None."""
    x = np.linspace(1.0, 2.0, 2000).reshape(40, 50)                  # no entry is 0, no two alike
    try:
        result, (_, _, _, rng_after), _ = call_with_arguments(student.dropout_forward, x, 0.5, True,
                                                              np.random.default_rng(0))
        first = expect_array(expect_tuple(result, "dropout_forward", 2)[0], "out", shape=x.shape)
        second = expect_array(expect_tuple(student.dropout_forward(x.copy(), 0.5, True, rng_after), "dropout_forward",
                                           2)[0], "out", shape=x.shape)
        replay = expect_array(expect_tuple(student.dropout_forward(x.copy(), 0.5, True, np.random.default_rng(0)),
                                           "dropout_forward", 2)[0], "out", shape=x.shape)
    except Exception:  # a layer that fails here fails its own tests
        return None
    dropped = first == 0
    if np.array_equal(first, x) and np.array_equal(second, x):
        return "no_drop_in_training"
    if dropped.any() and not dropped.all() and np.allclose(first[~dropped], x[~dropped], rtol=1e-12, atol=0):
        return "no_scaling"
    if 0 < dropped.mean() < 1 and np.all(dropped == dropped[0]):
        return "mask_shared"
    if np.array_equal(dropped, second == 0):
        return "rng_ignored"
    if not np.array_equal(first, replay):
        return "global_random"
    return None


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


def _check_trained(params, data, call, p, student=None):
    """The returned params fit the training data: a loss well below chance's (or, for a network
    trained without the rescaling, with its hidden units multiplied by 1 - p: that mistake costs
    other tests). Untrained weights with a history made up to match them do not."""
    x_tr, y_tr = data[0], data[1]
    loss, limit = _loss(params, x_tr, y_tr), TRAINED_FRACTION * _chance_loss(y_tr)
    if min(loss, _loss(params, x_tr, y_tr, 1 - p)) > limit:
        fail(f"the params of {call} give a training loss of {loss:.3f} (eval mode), not well below the "
             f"{_chance_loss(y_tr):.3f} of a constant prediction (at most {limit:.3f}): return the trained params",
             _layer_mistake(student) if student is not None else None)


def _random_params(rng, sizes):
    return {name: value for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1)
            for name, value in ((f"W{layer}", rng.normal(scale=1.0 / np.sqrt(fan_in), size=(fan_in, fan_out))),
                                (f"b{layer}", rng.normal(scale=0.2, size=fan_out)))}


def _history(value, epochs, name):
    """A history dict as two float arrays of length epochs."""
    if type(value) is dict and value and all(type(key) is str and key[:1] in "Wb" and key[1:].isdigit() for key in value):
        fail(f"{name} should be a dict with the keys 'train_loss' and 'val_loss'; it is a dict of parameters "
             f"({', '.join(sorted(value))}): train_with_dropout returns (params, history)", "study_returns_params")
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
    dropped = out == 0
    if 0 < dropped.mean() < 1 and (np.all(dropped == dropped[0]) or np.all(dropped == dropped[:, :1])):
        fail(f"with p = 0.25 every {'row' if np.all(dropped == dropped[0]) else 'column'} of out dropped the same "
             "entries: each entry needs its own draw", "mask_shared")
    mask = expect_array(mask, "mask", shape=x.shape, kinds="biuf")

    def only(kept_value):
        return bool(np.all(dropped | np.isclose(out, kept_value, rtol=1e-12, atol=0)))

    if not only(x / 0.75):
        message = "with p = 0.25 every entry of out should be 0 (dropped) or x / 0.75 (kept, scaled by 1/(1 - p))"
        ratios = out[~dropped] / x[~dropped]
        if not dropped.any() and only(x):
            fail(f"{message}; out is x unchanged, as in eval mode, though train=True", "no_drop_in_training")
        if dropped.any() and only(x):
            fail(f"{message}; the kept entries equal x", "no_scaling")
        if dropped.any() and only(x / 0.25):
            fail(f"{message}; the kept entries are x / p (p is the probability of dropping)", "keep_prob")
        if dropped.any() and ratios.size and ratios[0] > 0 and np.allclose(ratios, ratios[0], rtol=1e-9, atol=0):
            fail(f"{message}; the kept entries are x times {ratios[0]:.6g}, not x times {1 / 0.75:.6g}",
                 "wrong_kept_scale")
        fail(message)
    if not 0.15 < dropped.mean() < 0.35:  # the expected 25% of 2000 entries is 10 standard errors from either end
        fail(f"with p = 0.25 about a quarter of the entries should be dropped (p is the probability of dropping); "
             f"{dropped.mean():.0%} were", "keep_prob" if 0.65 < dropped.mean() < 0.85 else None)
    assert_close(out, x * mask, "out compared with x * mask (the mask is what x was multiplied by)",
                 rtol=1e-12, atol=0)


def test_dropout_forward_is_the_identity_in_eval_mode_and_for_p_zero(student, rng):
    _check_a_working_layer(student, rng, "the identity in eval mode and for p = 0")
    x = rng.normal(size=(20, 30))
    out, _ = expect_tuple(student.dropout_forward(x.copy(), 0.5, False, rng), "dropout_forward(x, 0.5, False, rng)", 2)
    out = expect_array(out, "out in eval mode", shape=x.shape)
    dropped = out == 0
    dropping = dropped.any() and np.all(dropped | np.isclose(out, 2 * x, rtol=1e-12, atol=0))  # 0 or x / (1 - p)
    assert_close(out, x, "out in eval mode (nothing is dropped or scaled)", rtol=1e-12, atol=0,
                 mistakes={"eval_scaled": 0.5 * x, **({"dropout_in_eval": out} if dropping else {})})
    try:
        result = student.dropout_forward(x.copy(), 0.0, True, rng)
    except Exception as error:
        if _raised_value_error(error):
            fail(f"{_raised(error, 'dropout_forward')}; but p = 0 is a valid probability (0 <= p < 1)",
                 "valid_p_refused")
        raise
    out, _ = expect_tuple(result, "dropout_forward(x, 0.0, True, rng)", 2)
    assert_close(expect_array(out, "out with p = 0", shape=x.shape), x, "out with p = 0", rtol=1e-12, atol=0)


def test_dropout_forward_rejects_p_outside_0_1(student, rng):
    _check_a_working_layer(student, rng, "refusing a bad p")  # code that always raises refuses them all
    x = rng.normal(size=(4, 5))
    for p in (1.0, -0.2):
        with expect_raises(ValueError, f"dropout_forward(x, p={p}, True, rng)", "p_not_checked"):
            student.dropout_forward(x.copy(), p, True, rng)


def test_dropout_backward_goes_through_the_mask(student, rng):
    x = rng.normal(size=(30, 20))
    out, mask = expect_tuple(student.dropout_forward(x.copy(), 0.25, True, rng), "dropout_forward(x, 0.25, True, rng)", 2)
    out = expect_array(out, "out", shape=x.shape)
    _check_drops(out, x, "dropout_forward(x, 0.25, True, rng)", "the backward pass")  # zeros, the identity: no
    dout = rng.normal(size=x.shape)
    dx = expect_array(student.dropout_backward(dout.copy(), mask), "dropout_backward(dout, mask)", shape=x.shape)
    assert_close(dx, dout * out / x, "dx compared with dout * (what x was multiplied by)", rtol=1e-10, atol=1e-12,
                 mistakes={"backward_unscaled": dout * (out != 0)})


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
    rng_state = rng.bit_generator.state
    result = student.mlp_dropout_forward({k: v.copy() for k, v in params.items()}, x.copy(), 0.3, False, rng)
    _, caches = expect_tuple(result, "mlp_dropout_forward(params, x, 0.3, False, rng)", 2)
    try:
        grads = student.mlp_dropout_backward(dlogits, caches)
    except Exception as error:
        if "values to unpack" in str(error) and _raised_value_error(error):
            fail(f"{_raised(error, 'mlp_dropout_backward')}: it read a cache in another layout than the one "
                 "it was stored in", "wrong_cache")
        raise
    if type(grads) is not dict or set(grads) != set(params):
        fail(f"mlp_dropout_backward should return a dict with the keys {sorted(params)}")
    inverted_gate = _eval_grads(params, x, dlogits, gate=lambda a: a <= 0)
    fresh_masks = None
    eps = 1e-6
    for name, value in params.items():
        numerical = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            shifted = {k: v.copy() for k, v in params.items()}
            shifted[name][index] = value[index] + eps
            up = _loss(shifted, x, y)
            shifted[name][index] = value[index] - eps
            numerical[index] = (up - _loss(shifted, x, y)) / (2 * eps)
        grad = expect_array(grads[name], f"grads[{name!r}]", shape=value.shape)
        if not np.allclose(grad, numerical, rtol=1e-5, atol=1e-8) and fresh_masks is None:
            fresh_masks = _fresh_mask_grads(student, params, x, dlogits, 0.3, rng_state)
        mistakes = [("relu_derivative", inverted_gate[name])]
        mistakes += [("fresh_mask_in_backward", fresh[name]) for fresh in fresh_masks or ()]
        assert_close(grad, numerical, f"grads[{name!r}] in eval mode, compared with central differences of the loss",
                     rtol=1e-5, atol=1e-8, mistakes=mistakes)


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


def _losses_before_the_last_update(student, data, curves):
    """Whether the history of test_train_with_dropout_history ends at the eval-mode losses of the params
    that the same run with 49 epochs (one update fewer) returns."""
    x_tr, y_tr, x_val, y_val = data
    try:
        before, _ = _training(student.train_with_dropout(x_tr, y_tr, x_val, y_val, p=0.2, hidden=(16,), epochs=49,
                                                         lr=0.5, seed=0), (16,), 49, "")
    except Exception:  # a run that fails here tells nothing
        return False
    return bool(np.isclose(curves["train_loss"][-1], _loss(before, x_tr, y_tr), rtol=1e-6, atol=1e-9)
                and np.isclose(curves["val_loss"][-1], _loss(before, x_val, y_val), rtol=1e-6, atol=1e-9))


def _right_without_dropout(student, data, params):
    """Whether your eval-mode network gives the tests' logits for ``params`` and train_with_dropout with
    p = 0 (the settings of test_train_with_dropout_history) ends its history at the eval-mode losses."""
    x_tr, y_tr, x_val, y_val = data
    try:
        logits, _ = student.mlp_dropout_forward({k: v.copy() for k, v in params.items()}, x_val.copy(), 0.2, False,
                                                np.random.default_rng(0))
        if not np.allclose(expect_array(logits, "logits", shape=(len(x_val),)), _forward(params, x_val),
                           rtol=1e-9, atol=1e-12):
            return False
        plain, curves = _training(student.train_with_dropout(x_tr, y_tr, x_val, y_val, p=0.0, hidden=(16,),
                                                             epochs=50, lr=0.5, seed=0), (16,), 50, "")
    except Exception:  # a network or run that fails here tells nothing
        return False
    return bool(np.isclose(curves["train_loss"][-1], _loss(plain, x_tr, y_tr), rtol=1e-6, atol=1e-9)
                and np.isclose(curves["val_loss"][-1], _loss(plain, x_val, y_val), rtol=1e-6, atol=1e-9))


def test_train_with_dropout_history(student):
    data = make_data(n_train=20, n_val=30, seed=3)
    x_tr, y_tr, x_val, y_val = data
    call = "train_with_dropout(..., p=0.2, hidden=(16,), epochs=50, lr=0.5, seed=0)"
    params, curves = _training(student.train_with_dropout(x_tr, y_tr, x_val, y_val, p=0.2, hidden=(16,), epochs=50,
                                                          lr=0.5, seed=0), (16,), 50, call)
    try:
        assert_close(curves["train_loss"][-1], _loss(params, x_tr, y_tr),
                     "history['train_loss'][-1] compared with the eval-mode training loss of the returned params")
        assert_close(curves["val_loss"][-1], _loss(params, x_val, y_val),
                     "history['val_loss'][-1] compared with the eval-mode validation loss of the returned params")
    except CheckFailed as failure:  # the losses of the params before the last update (those of 49 epochs)?
        if failure.mistake is None and _losses_before_the_last_update(student, data, curves):
            fail(f"{failure.detail}; the history ends at the losses of the params of the same run with 49 epochs, "
                 "before the last update", "history_before_update")
        # right for p = 0, where training and eval mode agree: measured in training mode?
        if failure.mistake is None and _right_without_dropout(student, data, params):
            fail(f"{failure.detail}; with p = 0 the same run's history is right, so the losses of p = 0.2 were "
                 "measured in training mode", "history_not_eval")
        raise
    _check_trained(params, data, call, 0.2, student)  # a history that matches untrained params is no training


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
    _check_trained(params, data, call, 0.3, student)
    loss = _loss(params, data[0], data[1])
    if not 0.5 * loss <= run["train_loss"][-1] <= 2 * loss:
        fail(f"the study is checked only for a history that belongs to its params: history['train_loss'][-1] "
             f"of {call} is {run['train_loss'][-1]:.4g}, far from the eval-mode training loss of its params, "
             f"{loss:.4g}")
    for key in ("train_loss", "val_loss"):
        name = f"dropout_study(ps=(0.3,), seed=0)[0.3][{key!r}], compared with history[{key!r}] of {call}"
        if np.allclose(curves[key], run[key], rtol=1e-9, atol=1e-12):
            continue
        mistake = _layer_mistake(student)  # masks not from rng: no two runs agree
        if mistake is None:  # the study's run that of p = 0.7, the probability of keeping a unit?
            _, swapped = _training(student.train_with_dropout(*data, p=0.7, seed=0, **STUDY_SETTINGS),
                                   STUDY_SETTINGS["hidden"], epochs, call.replace("p=0.3", "p=0.7"))
            mistake = "keep_prob" if np.allclose(curves[key], swapped[key], rtol=1e-9, atol=1e-12) else None
        assert_close(curves[key], run[key], name, rtol=1e-9, atol=1e-12,
                     mistakes={mistake: curves[key]} if mistake else None)
