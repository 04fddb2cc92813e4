"""Hidden tests for exercise 04 (dropout). Never shown to students.

Randomness is judged by properties that every correct answer has, never by the numbers a
generator draws: each output is 0 or x/(1 - p), the dropped fraction and the mean within a few
standard errors (in every row and every column too: each entry is dropped on its own), eval mode
and p = 0 the identity, masks that change from call to call but not for the same generator state.
The network and study tests use p != 0.5 wherever dropping with probability p and keeping with
probability p would look alike. Gradients are compared with autograd (eval mode) and with finite
differences of the student's own forward pass replayed from the same generator state (training
mode). Training outcomes are recomputed here, in eval mode, from the parameters the student
returns, and the PyTorch reference replays training without dropout.

A property earns points only where the function really does its task, judged loosely enough that
each catalogued mistake still passes (a scale of 1 or 1/p, a 0/1 mask in the backward pass): the
layer's special cases need a layer that drops units in training mode, the network's training-mode
properties a forward pass that follows the network and drops hidden units, and every training
outcome parameters whose recomputed losses lie well below chance. The student's code works on
copies: what a call does to its arguments is seen only through call_with_arguments.
"""
import re

import numpy as np
import pytest

from dropout_support import STUDY_SETTINGS, bce_with_logits, init_params, make_data, plot_curves
from nnex_check import (CheckFailed, assert_close, call_with_arguments, expect_array, expect_raises,
                        expect_scalar, expect_tuple, fail)
from reference import dropout as ref

STUDENT_MODULE = "dropout"
STUDY_SEED = 20240  # the seed of the study runs shared by the last two tests
STUDY_PS = (0.0, 0.5)  # trained with train_with_dropout for the gap
# dropout_study is asked for this p, compared with train_with_dropout: not 0.5, where a study that
# passes 1 - p on gives the same runs. Its run's validation loss: 0.41 to 0.54 over 60 seeds for the
# solution and both alternatives (0.41 to 0.59 with p = 0.2), against the limit of about 0.588.
STUDY_HISTORY_P = 0.3
MAX_GAP_RATIO = 0.6  # measured: 0.13 to 0.45 over 200 seeds, for the solution and both alternatives
# A trained network's eval-mode loss lies at most this fraction of chance's (the loss of the best
# constant prediction, about 0.69 here); untrained weights give chance's or more (0.69 for zeros,
# 0.72 to 1.5 for init_params). Measured with p = 0.5 on the study (solution and both alternatives,
# 200 seeds each): training loss 0.29 to 0.40, validation loss 0.41 to 0.52, against a limit of
# about 0.585. The catalogue's network mistakes mostly stay below it (their worst of 200 seeds:
# 0.58 with dropout on the input, 0.60 with a fresh mask in the backward pass; 0.53 and 0.47 at
# STUDY_SEED); kept units not scaled (0.69) and one mask for every call (0.75) do not, and the
# message names them. In test_train_with_dropout_history_matches_the_returned_params (its data and
# seed): 0.33 to 0.37 over 300 mask streams, limit 0.57.
TRAINED_FRACTION = 0.85
# A network trained with p = 0.5 keeps its training loss low when half of its hidden units are
# dropped (masks drawn here; the mean over MASK_DRAWS draws): 0.37 to 0.45 for the solution and both
# alternatives over 200 seeds, at most 0.60 for the catalogue's network mistakes (0.51 at
# STUDY_SEED), against the same limit of about 0.585. A network trained without dropout, stopped
# early so that its gap is small (15 to 60 epochs), gives 0.61 to 1.2.
MASK_DRAWS = 50


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
    for name in params:
        if isinstance(value[name], (float, np.floating)) or (type(value[name]) is np.ndarray and value[name].ndim == 0):
            fail(f"{call}[{name!r}] is a single number; it should be an array of shape {params[name].shape}, like "
                 f"params[{name!r}]: a sum over every axis where one over the samples (axis=0) is due?", "wrong_shape")
    return {name: expect_array(value[name], f"{call}[{name!r}]", shape=params[name].shape) for name in params}


def _dropout(student, x, p, train, rng, with_arguments=False):
    """student.dropout_forward(x, p, train, rng) (with_arguments: through call_with_arguments); a
    ValueError that the student's own code raised (a raise statement of theirs, as the relayed
    traceback shows) for a valid p is named."""
    try:
        if with_arguments:
            return call_with_arguments(student.dropout_forward, x, p, train, rng)
        return student.dropout_forward(x, p, train, rng)
    except Exception as error:
        if 0.0 <= p < 1.0 and re.search(r"^dropout_forward raised ValueError\b.*\bin \w+: raise ValueError", str(error),
                                        re.S):
            fail(f"{str(error).splitlines()[0]}; but p = {p} is a valid probability (0 <= p < 1)", "valid_p_refused")
        raise


CACHE_UNPACKING = re.compile(r"^mlp_dropout_backward raised ValueError: (too many|not enough) values to unpack")


def _backward(student, dlogits, caches, params, call="mlp_dropout_backward(dlogits, caches)"):
    """The grads of student.mlp_dropout_backward(dlogits, caches), checked; a cache unpacked into the
    wrong number of names (one of another layer, or stored in another layout) is named."""
    try:
        value = student.mlp_dropout_backward(dlogits, caches)
    except Exception as error:
        if CACHE_UNPACKING.search(str(error)):
            fail(str(error), "wrong_cache")
        raise
    return _grads(value, params, call)


def _params_result(value, sizes, call):
    names = sorted(f"{kind}{layer}" for layer in range(1, len(sizes)) for kind in "Wb")  # sorted: one message
    if type(value) is not dict or set(value) != set(names):
        fail(f"the params of {call} should be a dict with the keys {names} (layer sizes {sizes})")
    shapes = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        shapes[f"W{layer}"], shapes[f"b{layer}"] = (fan_in, fan_out), (fan_out,)
    return {name: expect_array(value[name], f"params[{name!r}] of {call}", shape=shapes[name]) for name in names}


def _history(value, epochs, call):
    if type(value) is dict and value and all(re.fullmatch(r"[Wb]\d+", str(key)) for key in value):
        fail(f"the history of {call} is a dict of parameters ({', '.join(sorted(map(str, value)))}), not a history: "
             "train_with_dropout returns (params, history), and the study keeps the history", "study_returns_params")
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


def _check_history_ends(params, curves, data, call, student, p, plain_run=None):
    """The last history entries are the eval-mode losses of the returned params; returns those.

    A wrong entry is called a loss not measured in eval mode after the update only where it is one:
    the student's own eval-mode forward pass gives the judge's logits for these params, and either
    (p = 0, or a run of the same settings with p = 0, from plain_run()) the entry lies a little above
    the eval-mode loss, as the loss before the last update does, or the p = 0 run's entry is right,
    so that only the mode of a p > 0 run can make it wrong. Other wrong entries (a loss computed
    some other way) are not named."""
    x_tr, y_tr, x_val, y_val = data
    recomputed = {"train_loss": _eval_loss(params, x_tr, y_tr), "val_loss": _eval_loss(params, x_val, y_val)}
    for (key, loss), (x, y) in zip(recomputed.items(), ((x_tr, y_tr), (x_val, y_val))):
        value = curves[key][-1]
        if np.isclose(value, loss, rtol=1e-6, atol=1e-9):
            continue
        message = (f"history[{key!r}][-1] of {call} is {value:.6g}, but the returned params give an eval-mode "
                   f"loss of {loss:.6g}")
        try:
            logits, _ = _forward_result(student.mlp_dropout_forward(_copy(params), x.copy(), p, False,
                                                                    np.random.default_rng(0)), np.shape(x)[0], "")
        except Exception:  # noqa: BLE001 - a forward pass that fails here fails its own tests
            logits = None
        if logits is None or not np.allclose(logits, _np(ref.mlp_forward(params, x)), rtol=1e-9, atol=1e-12):
            fail(message + " (computed here from them); your mlp_dropout_forward in eval mode gives other logits "
                 "for these params than the network does: see the network's tests")
        if p == 0 or plain_run is None:
            named = p == 0 and loss < value <= 1.1 * loss
        else:
            try:
                plain_params, plain_curves = plain_run()
                plain_loss, plain_value = _eval_loss(plain_params, x, y), plain_curves[key][-1]
            except Exception:  # noqa: BLE001 - a p = 0 run that fails tells nothing here
                plain_loss = plain_value = np.nan
            plain_right = bool(np.isclose(plain_value, plain_loss, rtol=1e-6, atol=1e-9))
            named = plain_right or plain_loss < plain_value <= 1.1 * plain_loss
            if plain_right:
                message += (f"; with p = 0 the same run's entry is right, so the loss of p = {p} was measured in "
                            "training mode")
        fail(message, "history_not_eval" if named else None)
    return recomputed["train_loss"], recomputed["val_loss"]


def _chance_loss(y):
    """The logistic loss of the best constant prediction, the labels' frequency: what chance reaches."""
    frequency = float(np.mean(y))
    return float(-(frequency * np.log(frequency) + (1 - frequency) * np.log(1 - frequency)))


def _trained_limit(y):
    return TRAINED_FRACTION * _chance_loss(y)


def _classic_eval_loss(params, x, y, p):
    """The loss with every hidden unit multiplied by 1 - p (classic dropout's eval mode): where it is
    low but the eval-mode loss is not, the network was trained with unscaled masks."""
    n = np.shape(x)[0]
    scaled = [np.full((n, params[f"b{layer}"].shape[0]), 1 - p) for layer in range(1, len(params) // 2)]
    return _np(ref.loss(params, x, y, scaled))


def _masked_loss(params, x, y, p):
    """The mean loss of params on (x, y) with p-dropout masks drawn here, over MASK_DRAWS draws."""
    masks_rng, n = np.random.default_rng(0), np.shape(x)[0]
    sizes = [params[f"b{layer}"].shape[0] for layer in range(1, len(params) // 2)]
    return float(np.mean([_np(ref.loss(params, x, y, [(masks_rng.random((n, size)) >= p) / (1 - p) for size in sizes]))
                          for _ in range(MASK_DRAWS)]))


def _layer_mistake(student):
    """The catalogued mistake of the student's dropout layer that spoils a network or a training run,
    found by probing dropout_forward: nothing dropped in training mode, kept units not scaled, one
    mask row shared by every row of the batch, the same mask at every call; or None."""
    x = np.linspace(1.0, 2.0, 2000).reshape(40, 50)                  # no entry is 0, no two alike
    try:
        result, (_, _, _, rng_after), _ = call_with_arguments(student.dropout_forward, x, 0.5, True,
                                                              np.random.default_rng(0))
        first, _ = _layer_result(result, x, "dropout_forward(x, 0.5, True, rng)")
        second, _ = _layer_result(student.dropout_forward(x.copy(), 0.5, True, rng_after), x, "dropout_forward")
    except Exception:  # a layer that fails here fails its own tests
        return None
    dropped = first == 0
    if np.array_equal(first, x) and np.array_equal(second, x):
        return "no_drop_in_training"
    factor = _kept_factor(first, x)
    if factor is not None and np.isclose(factor, 1.0):
        return "no_scaling"
    if 0 < dropped.mean() < 1 and np.all(dropped == dropped[0]):
        return "mask_shared"
    if np.array_equal(dropped, second == 0):
        return "rng_ignored"
    return None


def _require_trained(params, data, call, p, student=None, with_validation=True, allow_classic=False,
                     what="the training outcome"):
    """The gate of every training outcome: the returned params' eval-mode losses, recomputed here,
    lie well below chance (TRAINED_FRACTION); untrained weights and a history made up to match them
    do not get there. allow_classic: also accept losses that low with the hidden units scaled by
    1 - p (a network trained with unscaled masks, a mistake that costs its own tests). Where the
    student's layer shows a catalogued mistake that spoils training, the message names it."""
    x_tr, y_tr, x_val, y_val = data
    checks = [("training", x_tr, y_tr)] + ([("validation", x_val, y_val)] if with_validation else [])
    for name, x, y in checks:
        loss, limit = _eval_loss(params, x, y), _trained_limit(y)
        if loss <= limit or (allow_classic and p > 0 and _classic_eval_loss(params, x, y, p) <= limit):
            continue
        fail(f"{what} is checked only for trained networks: the params of {call} give a {name} loss of "
             f"{loss:.3f} (eval mode, recomputed here from them), not well below the {_chance_loss(y):.3f} "
             f"of a constant prediction (at most {limit:.3f})",
             _layer_mistake(student) if student is not None and p > 0 else None)


def _kept_factor(out, x):
    """The one positive factor by which out multiplies every entry of x that it keeps (x has no zero
    entry), or None when the entries of out that are not 0 are not x times one positive factor."""
    kept = out != 0
    if not kept.any():
        return None
    ratios = out[kept] / x[kept]
    return float(ratios[0]) if ratios[0] > 0 and np.allclose(ratios, ratios[0], rtol=1e-9, atol=0) else None


def _require_dropping(out, x, call, what):
    """The gate of the layer's property tests, on an output of training mode with 0 < p < 1: some
    entries are 0 and the others are x times one factor (1/(1 - p), or 1 or 1/p for a catalogued
    mistake). Identity, zeros, numbers drawn from rng or made of x's mean do not pass."""
    dropped = out == 0
    if not dropped.any() or dropped.all() or _kept_factor(out, x) is None:
        fail(f"{what} is checked only for a layer that drops units: {call} should set some entries "
             f"to 0 and multiply the others by 1/(1 - p); it set {dropped.mean():.0%} of them to 0"
             + ("" if dropped.all() or _kept_factor(out, x) is not None else
                " and did not multiply the others by one common factor")
             + ("; out is x unchanged, as in eval mode" if np.array_equal(out, x) else ""),
             "no_drop_in_training" if np.array_equal(out, x) else None)


def _require_a_working_layer(student, rng, what, backward=False):
    """The gate of the special cases (eval mode, p = 0, bad p): dropout_forward(x, 0.5, True, rng)
    drops between 20% and 80% of 2000 entries (the expected 50% is 27 standard errors from either
    end) and multiplies the others by one factor; with backward, dropout_backward(dout, mask) is 0
    exactly where the forward pass dropped an entry and nonzero where it kept one."""
    x = rng.normal(size=(40, 50))                                    # no entry is exactly 0
    call = "dropout_forward(x, 0.5, True, rng)"
    out, mask = _layer_result(_dropout(student, x.copy(), 0.5, True, rng), x, call)
    _require_dropping(out, x, call, what)
    dropped = out == 0
    if not 0.2 <= dropped.mean() <= 0.8:
        fail(f"{what} is checked only for a layer that drops units: {call} set {dropped.mean():.0%} "
             "of the entries to 0; about half of them should be")
    if backward:
        dout = rng.normal(size=x.shape)
        dx = expect_array(student.dropout_backward(dout.copy(), mask), "dropout_backward(dout, mask) with the "
                          f"mask of {call}", shape=x.shape)
        if np.any(dx[dropped] != 0) or np.any(dx[~dropped] == 0):
            fail(f"{what} is checked only for a backward pass through the mask: dropout_backward(dout, mask) "
                 f"with the mask of {call} should be 0 exactly where the forward pass dropped an entry "
                 f"({np.sum(dx[dropped] != 0)} of {dropped.sum()} dropped entries got a gradient, "
                 f"{np.sum(dx[~dropped] == 0)} of {(~dropped).sum()} kept ones none)")


def _require_a_working_network(student, params, rng, what):
    """The gate of the network's training-mode tests: with p = 0 its logits follow the network's
    (correlation at least 0.9 with the reference's over 40 inputs: loose, so that a mistake in the
    forward pass costs the forward tests, not these); with p = 0.5 in training mode they change
    (hidden units are dropped), and over 200 copies of one input a network of 4 hidden units gives
    at most 64 distinct logits (dropout gives one per set of kept units, 16; dropping the 2 inputs
    too, 64), where noise added to the logits gives 200. Constant, random or untouched logits, and
    logits plus noise, do not pass."""
    n = 40
    x = rng.normal(size=(n, params["W1"].shape[0]))
    expected = _np(ref.mlp_forward(params, x))
    call = "mlp_dropout_forward(params, x, 0.0, True, rng)"
    plain, _ = _forward_result(student.mlp_dropout_forward(_copy(params), x.copy(), 0.0, True, rng), n, call)
    correlation = float(np.corrcoef(plain, expected)[0, 1]) if np.std(plain) > 0 else 0.0
    if not correlation >= 0.9:
        fail(f"{what} is checked only for a network that computes its logits: those of {call} do not "
             f"follow the network's (correlation {correlation:.2f} over {n} inputs)")
    call = "mlp_dropout_forward(params, x, 0.5, True, rng)"
    dropped, _ = _forward_result(student.mlp_dropout_forward(_copy(params), x.copy(), 0.5, True, rng), n, call)
    if np.array_equal(dropped, plain):
        fail(f"{what} is checked only for a network that drops hidden units in training mode: {call} "
             "gave the logits of p = 0")
    small, copies = _random_params(rng, [2, 4, 1]), 200
    call = "mlp_dropout_forward(params, x, 0.5, True, rng) with 4 hidden units on 200 copies of one input"
    logits, _ = _forward_result(student.mlp_dropout_forward(small, np.repeat(rng.normal(size=(1, 2)), copies, axis=0),
                                                            0.5, True, rng), copies, call)
    if np.unique(logits).size > 64:
        fail(f"{what} is checked only for a network that drops hidden units in training mode: {call} gave "
             f"{np.unique(logits).size} distinct logits, where dropping units gives one per set of kept units (at "
             "most 16)")


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
    call = "dropout_forward(x, 0.3, True, rng)"
    # the student's code gets a copy of x: what it did to it comes back only when asked for
    result, (x_after, *_), _ = _dropout(student, x, p, True, rng, with_arguments=True)
    out, mask = _layer_result(result, x, call)
    # x unchanged is worth something only for a layer that drops units (zeroing x in place and
    # returning zeros is not one); loose, so that each catalogued scale still reaches this check
    _require_dropping(out, x, call, "leaving x unchanged")
    if type(x_after) is not np.ndarray or not np.array_equal(x_after, x):
        fail("dropout_forward changed the caller's x; return a new array", "x_modified")
    dropped = out == 0

    def only(kept_value):
        return bool(np.all(dropped | np.isclose(out, kept_value, rtol=1e-12, atol=0)))

    if not only(x / (1 - p)):  # some entries are dropped and some kept: the gate above saw to that
        if only(x):
            fail("the kept entries of out equal x: they should be x / (1 - p)", "no_scaling")
        if only(x / p):
            fail("the kept entries of out are x / p; p is the probability of dropping, so they "
                 "should be x / (1 - p)", "keep_prob")
        factor = _kept_factor(out, x)  # not None: the gate above saw to that
        fail(f"the kept entries of out are x times {factor:.6g}; with p = {p} they should be x / (1 - p), x times "
             f"{1 / (1 - p):.6g}", "wrong_kept_scale")
    mask = _mask_array(mask, x, call)
    if np.all((mask == 0) | (mask == 1)) and not np.allclose(out, x * mask, rtol=1e-12, atol=0):
        fail("mask holds 0 and 1; it should be what x was multiplied by: 0 or 1/(1 - p)",
             "mask_not_multiplier")
    assert_close(out, x * mask, f"out of {call}, compared with x * mask (mask: what x was multiplied by)",
                 rtol=1e-12, atol=0)


# Equivalent mutant (nnex validate), no test can tell it from the solution: rng.random(x.shape) > p
# for >= p differs only where a uniform draw equals p exactly, which has probability 0.
@pytest.mark.parametrize("p", [0.2, 0.6])
def test_dropout_forward_drops_a_fraction_p_and_keeps_the_mean(student, rng, p):
    x = rng.uniform(0.5, 1.5, size=(250, 200))                       # 50 000 positive entries
    call = f"dropout_forward(x, {p}, True, rng)"
    out, _ = _layer_result(_dropout(student, x.copy(), p, True, rng), x, call)
    # a fraction and a mean can be faked by numbers drawn from rng: out must follow x
    _require_dropping(out, x, call, "keeping the mean")
    n = x.size
    dropped = float(np.mean(out == 0))
    _within(dropped, p, 6 * np.sqrt(p * (1 - p) / n), f"the fraction of dropped entries with p = {p}",
            {"keep_prob": 1 - p})
    # E[out_i] = x_i; Var[out_i] = x_i^2 p / (1 - p), so the mean has this standard error
    tolerance = 6 * np.sqrt(np.sum(x ** 2) * p / (1 - p)) / n
    factor = _kept_factor(out, x)                                    # the gate: one factor
    _within(float(out.mean()), float(x.mean()), tolerance, f"the mean of out with p = {p} (it should be the mean of x)",
            {"no_scaling": float(x.mean()) * (1 - p), "keep_prob": float(x.mean()) * p / (1 - p),
             **({"wrong_kept_scale": float(x.mean()) * (1 - p) * factor}
                if not np.isclose(factor, 1 / (1 - p), rtol=1e-9) else {})})


def test_dropout_masks_are_independent_across_rows_and_columns(student, rng):
    # One mask row drawn for the columns and shared by every row of the batch (a mask of shape (H,)
    # or (1, H), broadcast) keeps the global fraction and the mean, but drops whole columns: each
    # column must lose about a fraction p of its rows, and each row about p of its columns, within
    # seven standard errors of a binomial fraction: over 1500 seeds the largest deviation of the 500
    # groups was 5.0 for the solution and both alternatives; a shared mask row is 11 or more away.
    rows, cols, p = 300, 200, 0.3
    x = rng.uniform(0.5, 1.5, size=(rows, cols))                     # no entry is 0
    call = f"dropout_forward(x, {p}, True, rng) for x of shape ({rows}, {cols})"
    out, _ = _layer_result(_dropout(student, x.copy(), p, True, rng), x, call)
    _require_dropping(out, x, call, "independence of the mask's entries")  # fractions can be faked
    dropped = out == 0
    for axis, group, size in ((0, "column", rows), (1, "row", cols)):
        fractions = dropped.mean(axis=axis)
        limit = 7 * np.sqrt(p * (1 - p) / size)
        worst = int(np.argmax(np.abs(fractions - p)))
        if abs(fractions[worst] - p) > limit:
            whole = bool(np.all((fractions == 0) | (fractions == 1)))
            fail(f"{group} {worst} of out has {fractions[worst]:.0%} of its entries dropped; every {group} should "
                 f"lose about p = {p:.0%} of them (± {limit:.0%}), as each entry is dropped on its own"
                 + (f": every {group} is dropped as a whole or kept as a whole, so every "
                    f"{'row' if axis == 0 else 'column'} got the same mask" if whole else ""),
                 "mask_shared" if whole else None)


@pytest.mark.parametrize("p", [0.3, 0.8])
def test_dropout_forward_is_the_identity_in_eval_mode(student, rng, p):
    _require_a_working_layer(student, rng, "the identity in eval mode", backward=True)
    x = rng.normal(size=(40, 30))
    call = f"dropout_forward(x, {p}, False, rng)"
    out, mask = _layer_result(_dropout(student, x.copy(), p, False, rng), x, call)
    zero_or_scaled = np.all((out == 0) | np.isclose(out, x / (1 - p), rtol=1e-12, atol=0))
    assert_close(out, x, f"out of {call} (eval mode: nothing is dropped or scaled)", rtol=1e-12, atol=0,
                 mistakes={"eval_scaled": x * (1 - p), **({"dropout_in_eval": out} if zero_or_scaled else {})})
    dout = rng.normal(size=x.shape)
    dx = expect_array(student.dropout_backward(dout.copy(), mask), "dropout_backward(dout, mask) in eval mode",
                      shape=x.shape)
    assert_close(dx, dout, "dropout_backward(dout, mask) with the mask of eval mode", rtol=1e-12, atol=0,
                 mistakes={"eval_scaled": dout * (1 - p)})


# Equivalent mutant (nnex validate): `if not train or p == 1.0` for `p == 0.0`. p = 1 is refused
# before, so the identity branch is taken only in eval mode; with p = 0 in training mode the other
# branch keeps every entry (rng.random(...) >= 0) and scales by 1/(1 - 0) = 1: the identity too.
def test_dropout_forward_with_p_zero_is_the_identity(student, rng):
    _require_a_working_layer(student, rng, "the identity for p = 0", backward=True)
    x = rng.normal(size=(25, 16))
    call = "dropout_forward(x, 0.0, True, rng)"
    out, mask = _layer_result(_dropout(student, x.copy(), 0.0, True, rng), x, call)
    assert_close(out, x, f"out of {call}", rtol=1e-12, atol=0)
    dout = rng.normal(size=x.shape)
    dx = expect_array(student.dropout_backward(dout.copy(), mask), "dropout_backward(dout, mask) for p = 0",
                      shape=x.shape)
    assert_close(dx, dout, "dropout_backward(dout, mask) for p = 0", rtol=1e-12, atol=0)


def test_dropout_forward_refuses_every_p_outside_0_1(student, rng):
    # refusing is worth something only where valid p work (code that always raises refuses all)
    _require_a_working_layer(student, rng, "refusing a bad p")
    x = rng.normal(size=(6, 5))
    call = "dropout_forward(x, p=0.0, True, rng)"
    out, _ = _layer_result(_dropout(student, x.copy(), 0.0, True, rng), x, call)
    if not np.allclose(out, x, rtol=1e-6, atol=0):
        fail(f"refusing a bad p is checked only where valid p work: {call} should return x")
    for p in (1.0, 1.5, -0.1, -1.0):
        with expect_raises(ValueError, f"dropout_forward(x, p={p}, True, rng)", "p_not_checked"):
            student.dropout_forward(x.copy(), p, True, rng)


def test_dropout_masks_change_between_calls_and_come_from_rng(student, rng):
    # x of random entries, not ones: numbers drawn from rng would pass for dropout of ones
    x = rng.normal(size=(30, 40))
    call = "dropout_forward(x, 0.5, True, rng)"
    # the student's code advances a copy of rng: the second call gets that copy as the first left it
    result, (_, _, _, rng_after), _ = call_with_arguments(student.dropout_forward, x, 0.5, True, rng)
    first, _ = _layer_result(result, x, call)
    _require_dropping(first, x, call, "drawing fresh masks")
    if type(rng_after) is not np.random.Generator:
        fail(f"after {call} the rng argument is no longer a np.random.Generator")
    second, _ = _layer_result(student.dropout_forward(x.copy(), 0.5, True, rng_after), x, call)
    _require_dropping(second, x, call, "drawing fresh masks")
    if np.array_equal(first == 0, second == 0):
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
    _require_dropping(out, x, call, "the backward pass through the forward's mask")  # not the identity, not zeros
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
    # a bias subtracted instead of added: in one layer, in every hidden layer, in every layer
    layers = [[layer] for layer in range(1, len(sizes))] + [list(range(1, len(sizes) - 1)), list(range(1, len(sizes)))]
    flipped = [("sign_error", _np(ref.mlp_forward({**params, **{f"b{layer}": -params[f"b{layer}"] for layer in which}},
                                                  x))) for which in layers]
    assert_close(logits, expected, f"logits of {call} (p = 0: no dropout)", rtol=1e-10, atol=1e-12,
                 mistakes=flipped)
    call = "mlp_dropout_forward(params, x, 0.5, False, rng)"
    logits, _ = _forward_result(student.mlp_dropout_forward(_copy(params), x.copy(), 0.5, False, rng), n, call)
    halved = [np.full((n, size), 0.5) for size in sizes[1:-1]]     # classic dropout's test-time scaling
    assert_close(logits, expected, f"logits of {call} (eval mode)", rtol=1e-10, atol=1e-12,
                 mistakes={"eval_scaled": _np(ref.mlp_forward(params, x, halved)), "dropout_in_eval": logits})


# Equivalent mutants (nnex validate), the same function on every input the contract allows:
# np.maximum(0.0, a) for np.maximum(a, 0.0) and dropout_backward(mask, dh) for
# dropout_backward(dh, mask) (both symmetric); [:, -1] for [:, 0] on the output layer's single
# column; dz * W_out.T for dz @ W_out.T (an (N, 1) times a (1, H): the outer product either way);
# a >= 0 for a > 0 in the ReLU's derivative, which differ only at a pre-activation of exactly 0:
# random inputs never give one, and the convention at 0 is left free (exact zeros are kept out).
def test_mlp_dropout_backward_in_eval_mode_matches_autograd(student, rng):
    sizes, n = [4, 6, 5, 1], 8
    params, x = _random_params(rng, sizes), rng.normal(size=(n, 4))
    y = rng.integers(0, 2, size=n).astype(np.float64)
    dlogits = _np(ref.loss_gradients(params, x, y))
    expected = {name: _np(grad) for name, grad in ref.mlp_backward(params, x, dlogits).items()}
    call = "mlp_dropout_forward(params, x, 0.5, False, rng)"
    _, caches = _forward_result(student.mlp_dropout_forward(_copy(params), x.copy(), 0.5, False, rng), n, call)
    grads = _backward(student, dlogits.copy(), caches, params)
    try:
        for name in params:
            assert_close(grads[name], expected[name], f"grads[{name!r}] in eval mode, compared with autograd",
                         rtol=1e-8, atol=1e-12)
    except CheckFailed as failure:
        if failure.mistake is None and _relu_gate_is_wrong(student, rng):
            fail(f"{failure.detail}; and with one input, the gradient of the last hidden layer's bias is not 0 "
                 "exactly where that layer's pre-activation is <= 0 (the ReLU lets no gradient through there, "
                 "and all of it where it is > 0)", "relu_derivative")
        raise


def _relu_gate_is_wrong(student, rng):
    """Whether the student's eval-mode backward lets the gradient through the last hidden layer's
    ReLU where it should not (pre-activation <= 0) or stops it where it should pass (> 0): with one
    input and dlogits = 1, grads of that layer's bias are nonzero exactly where the pre-activation is
    positive. Only for a forward pass that is right on that input."""
    sizes = [3, 8, 6, 1]
    params, x = _random_params(rng, sizes), rng.normal(size=(1, 3))
    h1 = np.maximum(x @ params["W1"] + params["b1"], 0.0)           # (1, 8)
    # the last hidden layer's pre-activations on both sides of 0, near it and far from it
    params["b2"] = np.array([-2.0, -0.5, -0.1, 0.1, 0.5, 2.0]) - (h1 @ params["W2"])[0]
    try:
        logits, caches = _forward_result(student.mlp_dropout_forward(_copy(params), x.copy(), 0.5, False,
                                                                     np.random.default_rng(0)), 1, "")
        grads = _backward(student, np.ones(1), caches, params)
    except Exception:  # noqa: BLE001 - a network that fails here fails its own tests
        return False
    if not np.allclose(logits, _np(ref.mlp_forward(params, x)), rtol=1e-9, atol=1e-12):
        return False
    active = (h1 @ params["W2"] + params["b2"])[0] > 0                # (6,) the last hidden layer's ReLU
    passed = grads["b2"] != 0                                         # where the gradient went through
    # the gradient where it passes is W3 (dlogits = 1, eval mode): a gate of 0s and 1s, not a mask
    return bool(np.allclose(grads["b2"][passed], params["W3"][passed, 0], rtol=1e-9, atol=1e-12)
                and not np.array_equal(passed, active))


def test_mlp_dropout_keeps_the_mean_and_spares_input_and_output(student, rng):
    # One hidden layer: the logit is linear in the dropped hidden units, so its mean over fresh
    # masks is the eval-mode logit; N copies of one input give N independent masks in one call.
    # Hidden unit j sees both inputs with the weight w_j and has the bias -w_j: dropping an input
    # would switch units off or push them up, and move the mean. p = 0.3, not 0.5: a network that
    # keeps its units with probability p (and scales them by 1/p) has the right mean too, and at
    # p = 0.5 the same logits.
    hidden, n, p = 12, 20000, 0.3
    w = rng.uniform(0.5, 1.5, size=hidden)
    params = {"W1": np.stack([w, w]), "b1": -w, "W2": rng.uniform(0.5, 1.5, size=(hidden, 1)) / hidden,
              "b2": np.array([0.1])}
    x0 = np.ones((1, 2))
    call = f"mlp_dropout_forward(params, x, {p}, True, rng)"
    logits, _ = _forward_result(student.mlp_dropout_forward(_copy(params), np.repeat(x0, n, axis=0), p, True, rng),
                                n, call)
    if np.mean(logits == 0) > 0.05:
        fail(f"{np.mean(logits == 0):.0%} of the logits are exactly 0 in training mode: the output "
             "unit was dropped", "dropout_on_output")
    if np.all(logits == logits[0]):
        mistake = _layer_mistake(student)
        fail(f"{call} gave the same logit for {n} copies of one input: "
             + {"mask_shared": "every copy got the same mask (your dropout_forward shares one mask row "
                               "between all rows of a batch)",
                "no_drop_in_training": "no hidden unit was dropped (your dropout_forward drops nothing in "
                                       "training mode)"}.get(
                    mistake, "either no hidden unit was dropped or every copy got the same mask"),
             mistake if mistake in ("mask_shared", "no_drop_in_training") else None)
    eval_logit = _np(ref.mlp_forward(params, x0))[0]
    b_out = params["b2"][0]
    input_masks = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])          # which inputs are kept
    chances = np.prod(np.where(input_masks == 1, 1 - p, p), axis=1)     # of each of the four
    input_dropped = float(chances @ _np(ref.mlp_forward(params, x0 * input_masks / (1 - p))))
    tolerance = 6 * float(np.std(logits)) / np.sqrt(n) + 1e-12
    _within(float(logits.mean()), eval_logit, tolerance,
            "the mean of the training-mode logits over fresh masks (it should be the eval-mode logit)",
            {"no_scaling": b_out + (1 - p) * (eval_logit - b_out), "dropout_on_input": input_dropped,
             "keep_prob": b_out + p / (1 - p) * (eval_logit - b_out)})
    # A mean can be faked (the eval-mode logit plus noise drawn from rng): every logit must be the
    # network's with some set S of kept hidden units, b2 + sum over j in S of w_j W2_j / (1 - p)
    # (relu(a_j) = w_j here). After the mean, so that each catalogued mistake gets its hint above.
    kept_sets = (np.arange(2 ** hidden)[:, None] >> np.arange(hidden)) & 1  # (4096, hidden) every S

    def distances(scale):
        """How far each logit is from the nearest one of a set of kept units scaled by ``scale``."""
        attainable = np.sort(b_out + kept_sets @ (w * params["W2"][:, 0] * scale))  # (4096,)
        right = np.clip(np.searchsorted(attainable, logits), 1, attainable.size - 1)
        return (np.minimum(np.abs(logits - attainable[right - 1]), np.abs(logits - attainable[right]))
                / (1 + np.abs(attainable).max()))

    distance = distances(1 / (1 - p))
    if np.any(distance > 1e-9):
        worst = int(np.argmax(distance))
        if np.all(distances(1 / p) <= 1e-9):
            fail(f"logit {worst} of {call} is {logits[worst]:.6g}: the hidden units were kept with probability "
                 f"p = {p} and scaled by 1/p; p is the probability of dropping a unit", "keep_prob")
        fail(f"logit {worst} of {call} is {logits[worst]:.6g}: no set of kept hidden units (scaled by "
             "1/(1 - p)) gives it, so the training-mode logits are not the network's with dropout masks")


def test_mlp_dropout_backward_matches_finite_differences_in_training_mode(student, rng):
    sizes, n, p = [3, 5, 4, 1], 4, 0.4
    params, x = _random_params(rng, sizes), rng.normal(size=(n, 3))
    # a constant (or random) forward pass and zero gradients agree with finite differences too
    _require_a_working_network(student, params, rng, "agreeing with finite differences in training mode")
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
    grads = _backward(student, weights.copy(), caches, params)
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
    # a network that never drops a unit satisfies these identities too
    _require_a_working_network(student, params, rng, "reusing the forward pass's masks")
    call = "mlp_dropout_forward(params, x, 0.5, True, rng)"
    logits, caches = _forward_result(student.mlp_dropout_forward(_copy(params), x.copy(), p, True, rng), n, call)
    backward = "mlp_dropout_backward(dlogits, caches)"

    def broken(message, gradient, kept_value):
        """Fail; name a fresh mask only where the rest of the network is right (its eval-mode logits are
        the reference's and its ReLU gate lets the gradient through where it should) and ``gradient``
        is what some dropout mask gives: each entry 0 or kept_value / (1 - p) (kept_value: the
        gradient's entries with every unit kept, unscaled)."""
        if _relu_gate_is_wrong(student, rng):
            fail(message + "; and the backward pass does not let the gradient through the ReLU exactly where "
                 "its pre-activation is > 0", "relu_derivative")
        try:
            plain, _ = _forward_result(student.mlp_dropout_forward(_copy(params), x.copy(), p, False, rng), n, "")
            right = np.allclose(plain, _np(ref.mlp_forward(params, x)), rtol=1e-9, atol=1e-12)
        except Exception:  # noqa: BLE001 - a forward pass that fails here fails its own tests
            right = False
        if not right:
            fail(message + "; your forward pass is wrong in eval mode too (no masks there): see the eval-mode tests "
                 "first")
        if np.all((gradient == 0) | np.isclose(gradient, kept_value / (1 - p), rtol=1e-9, atol=1e-12)):
            fail(message + ", but those of another dropout mask: the backward pass must reuse the forward pass's "
                 "masks", "fresh_mask_in_backward")
        fail(message + "; nor those of any dropout mask of this layer (entries 0 or x / (1 - p))")

    for sample in range(n):
        dlogits = np.eye(n)[sample]
        grads = _backward(student, dlogits, caches, params, backward)
        again = _backward(student, dlogits.copy(), caches, params, backward)
        if not all(np.array_equal(grads[name], again[name]) for name in params):
            fail("two backward passes with the same caches gave different gradients: the backward "
                 "pass must reuse the masks of the forward pass", "fresh_mask_in_backward")
        pre = x[sample] @ params["W1"] + params["b1"]                 # (16,) the hidden pre-activations
        rebuilt = grads["W2"][:, 0] @ params["W2"][:, 0] + grads["b2"][0] * params["b2"][0]
        if not np.isclose(rebuilt, logits[sample], rtol=1e-9, atol=1e-12):
            broken(f"the gradient of logit {sample} with respect to W2 is not the hidden activations the forward "
                   "pass used for it", grads["W2"][:, 0], np.maximum(pre, 0.0))
        rebuilt = np.sum(grads["W1"] * params["W1"]) + grads["b1"] @ params["b1"] + params["b2"][0]
        if not np.isclose(rebuilt, logits[sample], rtol=1e-9, atol=1e-12):
            broken(f"the gradients of logit {sample} with respect to W1 and b1 do not go through the hidden "
                   "units that the forward pass kept", grads["b1"], params["W2"][:, 0] * (pre > 0))


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
    seed = int(rng.integers(1000))
    params, curves = _training(student.train_with_dropout(*(a.copy() for a in data), p=0.3, hidden=hidden,
                                                          epochs=epochs, lr=0.2, seed=seed),
                               [2, *hidden, 1], epochs, call)

    def plain_run():
        plain = "train_with_dropout(..., p=0.0, hidden=(16, 16), epochs=20, lr=0.2)"
        return _training(student.train_with_dropout(*(a.copy() for a in data), p=0.0, hidden=hidden, epochs=epochs,
                                                    lr=0.2, seed=seed), [2, *hidden, 1], epochs, plain)
    _check_history_ends(params, curves, data, call, student, 0.3, plain_run)
    # A run that passes 1 - p on (the probability of keeping a unit) may train too, and at p = 0.5 it is
    # the right run. Its first update is the one of masks drawn with 1 - p: replayed here with the
    # student's own network from the state the README fixes (init_params from default_rng(seed), every
    # mask drawn from that generator next), it is named only when it is exactly that one; a run that
    # draws in another order matches neither replay and passes.
    first = "train_with_dropout(..., p=0.3, hidden=(16, 16), epochs=1, lr=0.2)"
    one, _ = _training(student.train_with_dropout(*(a.copy() for a in data), p=0.3, hidden=hidden, epochs=1, lr=0.2,
                                                  seed=seed), [2, *hidden, 1], 1, first)
    if not _same_params(one, _first_update(student, data, hidden, 0.3, seed, 0.2)) \
            and _same_params(one, _first_update(student, data, hidden, 0.7, seed, 0.2)):
        fail(f"the parameters after {first} are those of a first update with masks drawn for p = 0.7 = 1 - p: "
             "train_with_dropout passed on the probability of keeping a unit", "keep_prob")
    # untrained params with a history made up to match them agree too: they must be trained
    _require_trained(params, data, call, 0.3, student, with_validation=False,
                     what="a history that matches the returned params")


def _same_params(a, b):
    return all(np.allclose(a[name], b[name], rtol=1e-9, atol=1e-12) for name in a)


def _first_update(student, data, hidden, p, seed, lr):
    """The params after one epoch of train_with_dropout replayed with the student's own network:
    init_params from default_rng(seed), then the training-mode masks drawn from that generator."""
    x_tr, y_tr = data[0], data[1]
    rng = np.random.default_rng(seed)
    params = init_params([x_tr.shape[1], *hidden, 1], rng)
    call = f"mlp_dropout_forward(params, x, {p}, True, rng)"
    logits, caches = _forward_result(student.mlp_dropout_forward(_copy(params), x_tr.copy(), p, True, rng),
                                     x_tr.shape[0], call)
    grads = _backward(student, bce_with_logits(logits, y_tr)[1], caches, params)
    return {name: value - lr * grads[name] for name, value in params.items()}


@pytest.fixture(scope="module")
def study_runs(student):
    """{p: raw result of train_with_dropout} on the study's data and settings, seed STUDY_SEED."""
    data = make_data()
    return {p: student.train_with_dropout(*(a.copy() for a in data), p=p, seed=STUDY_SEED, **STUDY_SETTINGS)
            for p in (*STUDY_PS, STUDY_HISTORY_P)}


def test_dropout_shrinks_the_generalisation_gap(student, study_runs, figures):
    data = make_data()
    sizes, epochs = [2, *STUDY_SETTINGS["hidden"], 1], STUDY_SETTINGS["epochs"]
    losses, params, curves = {}, {}, {}
    for p in STUDY_PS:
        call = f"train_with_dropout(*make_data(), p={p}, seed={STUDY_SEED}, **STUDY_SETTINGS)"
        params[p], curves[p] = _training(study_runs[p], sizes, epochs, call)
        losses[p] = _check_history_ends(params[p], curves[p], data, call, student, p,
                                        lambda: (params[0.0], curves[0.0]))  # p = 0 comes first
    figures.add("loss-curves", lambda: plot_curves(
        curves, title="Your loss curves (last points checked against your returned parameters)"))
    # Weights that were never trained (zeros, the initial ones) close the gap too: both networks
    # must fit their training data, and the p = 0.5 one the validation data as well (checked after
    # the p = 0 parameters returned again, which overfit the validation data).
    calls = {p: f"train_with_dropout(*make_data(), p={p}, seed={STUDY_SEED}, **STUDY_SETTINGS)" for p in STUDY_PS}
    _require_trained(params[0.0], data, calls[0.0], 0.0, student, with_validation=False, what="the gap")
    if all(np.array_equal(params[0.0][name], params[0.5][name]) for name in params[0.0]):
        no_drop = _layer_mistake(student) == "no_drop_in_training"
        fail("training with p = 0.5 returned exactly the parameters of p = 0: no unit was dropped during training"
             + ("; your dropout_forward drops nothing in training mode" if no_drop else ""),
             "no_drop_in_training" if no_drop else "dropout_off_in_training")
    _require_trained(params[0.5], data, calls[0.5], 0.5, student, what="the gap")
    # A network trained without dropout and stopped early has a small gap too; one trained with
    # dropout fits its training data with half of its hidden units dropped as well.
    masked, limit = _masked_loss(params[0.5], data[0], data[1], 0.5), _trained_limit(data[1])
    if masked > limit:
        fail(f"the network of p = 0.5 was not trained with dropout: with half of its hidden units dropped at "
             f"random (masks drawn here) its training loss averages {masked:.3f}, not well below the "
             f"{_chance_loss(data[1]):.3f} of a constant prediction (at most {limit:.3f}); trained with "
             "p = 0.5 it stays about as low as in eval mode", _layer_mistake(student) or "dropout_off_in_training")
    gaps = {p: losses[p][1] - losses[p][0] for p in STUDY_PS}
    if not gaps[0.0] > 0.1:
        fail(f"without dropout the validation loss ({losses[0.0][1]:.3f}) should be well above the "
             f"training loss ({losses[0.0][0]:.3f}) on the study's data: the network should overfit")
    if not gaps[0.5] < MAX_GAP_RATIO * gaps[0.0]:
        fail(f"the generalisation gap (validation minus training loss, eval mode, recomputed from "
             f"your parameters) is {gaps[0.5]:.3f} with p = 0.5 and {gaps[0.0]:.3f} with p = 0; "
             f"dropout should shrink it to less than {MAX_GAP_RATIO:.0%} of the latter")


def test_dropout_study_gives_the_histories_of_train_with_dropout(student, study_runs):
    ps = (STUDY_HISTORY_P,)
    result = student.dropout_study(ps=ps, seed=STUDY_SEED)
    call = f"dropout_study(ps={ps}, seed={STUDY_SEED})"
    if type(result) is not dict:
        fail(f"{call} should return a dict {{p: history}} whose keys are the floats of ps; got "
             "a value of another type (NumPy numbers as keys cannot be sent back: use the floats of ps)")
    if set(result) != set(ps):
        fail(f"{call} returned the keys {list(result)}; expected {list(ps)}")
    data = make_data()
    sizes, epochs = [2, *STUDY_SETTINGS["hidden"], 1], STUDY_SETTINGS["epochs"]
    for p in ps:
        curves = _history(result[p], epochs, call)
        run = f"train_with_dropout(*make_data(), p={p}, seed={STUDY_SEED}, **STUDY_SETTINGS)"
        params, expected = _training(study_runs[p], sizes, epochs, run)
        # Agreeing with train_with_dropout is worth something only for a real run: its params trained
        # (in eval mode, or with the hidden units scaled by 1 - p: a mistake that costs other tests)
        # and its history ending near their losses (within a factor 2: a history measured in the
        # wrong mode is a mistake that costs other tests; one made up, zeros say, is refused).
        _require_trained(params, data, run, p, student, allow_classic=True, what="the dropout study")
        for key, x, y in (("train_loss", data[0], data[1]), ("val_loss", data[2], data[3])):
            loss = _eval_loss(params, x, y)
            if not 0.5 * loss <= expected[key][-1] <= 2 * loss:
                fail(f"the dropout study is checked only for a history that belongs to the returned params: "
                     f"history[{key!r}][-1] of {run} is {expected[key][-1]:.4g}, but the params give an "
                     f"eval-mode loss of {loss:.4g}")
        for key in curves:
            try:
                assert_close(curves[key], expected[key],
                             f"history[{key!r}] of {call} for p = {p}, compared with train_with_dropout on "
                             "make_data() with STUDY_SETTINGS and the same seed", rtol=1e-9, atol=1e-12)
            except CheckFailed as failure:  # the run of 1 - p, the probability of keeping?
                if failure.mistake is not None:
                    raise
                swapped = f"train_with_dropout(*make_data(), p={1 - p:.6g}, seed={STUDY_SEED}, **STUDY_SETTINGS)"
                _, other = _training(student.train_with_dropout(*(a.copy() for a in data), p=1 - p, seed=STUDY_SEED,
                                                                **STUDY_SETTINGS), sizes, epochs, swapped)
                if np.allclose(curves[key], other[key], rtol=1e-9, atol=1e-12):
                    fail(f"{failure.detail}; it is the history of {swapped}: the study passed 1 - p on, the "
                         "probability of keeping a unit", "keep_prob")
                raise
