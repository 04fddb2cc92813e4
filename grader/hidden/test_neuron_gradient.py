"""Hidden tests for exercise 01 (neuron_gradient). Never shown to students.

Fresh seeded inputs (the ``rng`` fixture), the PyTorch reference (autograd) as the oracle, and
properties (finite differences, no warning at |z| = 1e4, arguments left untouched). A property
earns its points only from a function that computes its task, at least roughly (``_agreement``:
the direction, of either sign and any scale), so that code computing nothing earns none and one
real mistake still costs only its own tests. When a wrong answer equals what a catalogued mistake
gives, the failure names it (see the manifest's hints).
"""
from contextlib import contextmanager

import numpy as np

from nnex_check import (CheckFailed, FixtureRef, assert_close, call_with_arguments, expect_array,
                        expect_no_warning, expect_scalar, expect_tuple, fail)
from neuron_support import neuron_loss
from reference import neuron_gradient as ref

STUDENT_MODULE = "neuron"
# |cosine| at least this: "roughly the same direction". Every catalogued mistake (a factor 2 or N,
# a sign, σ' of the wrong value) keeps above it; unrelated vectors of 9 entries almost never reach it.
ROUGHLY = 0.8


# ---------------------------------------------------------------- helpers (judge side only)

def _np(value):
    """A reference result as float64 NumPy (array or Python float for 0-d)."""
    array = value.detach().cpu().double().numpy()
    return float(array) if array.ndim == 0 else array


def _sig(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _close(actual, expected, name, rtol, atol, mistakes=None, otherwise=None):
    """assert_close; a failure that names no mistake names ``otherwise`` (the wrong formula of the
    function under test, where the test has made sure that nothing else can be to blame). For one
    number, a factor or offset found between the two says little: ``otherwise`` is named instead."""
    try:
        assert_close(actual, expected, name, rtol=rtol, atol=atol, mistakes=mistakes)
    except CheckFailed as failure:
        known = {m for m, _ in (mistakes.items() if isinstance(mistakes, dict) else mistakes or ())}
        if otherwise and (failure.mistake is None or (np.ndim(actual) == 0 and failure.mistake not in known)):
            fail(failure.detail, otherwise)
        raise


@contextmanager
def _no_warning(name):
    """The calls inside must raise no warning; an overflow names sigmoid_overflow, a division by
    zero division_by_zero (which the stable formulas cannot cause either), others nothing."""
    try:
        with expect_no_warning(name):
            yield
    except CheckFailed as failure:
        text = failure.detail
        fail(text, "sigmoid_overflow" if "overflow" in text
             else "division_by_zero" if "divide by zero" in text else None)


def _sigmoid_mistakes(z, s):
    """(mistake id, the value it gives) for the sigmoid's catalogued mistakes, given the student's s.

    Where s is wrong only for z of one sign, the candidate is s there and σ elsewhere: it matches
    exactly when the other side is right (z = 0 counts with the positive side, whose branch the
    stable formula uses there). Mirrored: 1 - σ(z) wherever s is not σ(z).
    """
    good = _sig(z)
    mirrored = np.where(np.isclose(s, 1.0 - good, rtol=1e-9, atol=1e-12), 1.0 - good, good)
    return [("sigmoid_mirrored", mirrored),
            ("sigmoid_step", (z >= 0).astype(np.float64)), ("sigmoid_step", (z > 0).astype(np.float64)),
            ("sigmoid_negative_side", np.where(z < 0, s, good)),
            ("sigmoid_positive_side", np.where(z >= 0, s, good))]


def _right(value, expected, rtol=1e-9, atol=1e-12):
    """Whether a student's answer is a float array of the expected shape, close to ``expected``."""
    return type(value) is np.ndarray and value.shape == np.shape(expected) and value.dtype.kind == "f" \
        and bool(np.allclose(value, expected, rtol=rtol, atol=atol))


def _sigmoid_right(student, z):
    """Whether the student's sigmoid is right at z (quietly: a failure here is judged elsewhere)."""
    try:
        return _right(student.sigmoid(z.copy()), _sig(z))
    except Exception:
        return False


def _sigmoid_and_forward_right(student, x, w, b):
    """Whether the student's sigmoid and neuron_forward are right here: then a wrong gradient lies in
    neuron_gradients itself."""
    try:
        forward = student.neuron_forward(x.copy(), w.copy(), b)
    except Exception:
        return False
    return _sigmoid_right(student, x @ w + b) and _right(forward, _sig(x @ w + b))


def _data(rng, n, d, w_scale=0.8):
    x = rng.normal(size=(n, d))
    w = rng.normal(scale=w_scale, size=d)
    b = float(rng.normal(scale=0.5))
    y = rng.uniform(size=n)
    return x, w, b, y


def _gradient_mistakes(x, w, b, y):
    """{mistake id: (dw, db) that mistake gives}, for the catalogued gradient mistakes."""
    n = x.shape[0]
    z = x @ w + b
    a = _sig(z)
    good = 2.0 * (a - y) / n * a * (1 - a)

    def pair(delta):
        return x.T @ delta, float(np.sum(delta))

    dw, db = pair(good)
    return {
        "grad_sum_not_mean": (dw * n, db * n),
        "grad_missing_factor_2": (dw / 2, db / 2),
        "gradient_sign": (-dw, -db),
        "sigmoid_prime_of_z": pair(2.0 * (a - y) / n * z * (1 - z)),
        "sigmoid_prime_of_a": pair(2.0 * (a - y) / n * _sig(a) * (1 - _sig(a))),
        "db_not_summed": (dw, float(good[0])),
        "bias_sign": pair(2.0 * (_sig(x @ w - b) - y) / n * _sig(x @ w - b) * (1 - _sig(x @ w - b))),
    }


def _check_gradients(result, x, w, b, y, expected_dw, expected_db, source, rtol, atol, formula=None):
    """formula: the mistake named when the gradient is wrong in no catalogued way (gradient_formula,
    where the student's sigmoid and neuron_forward are right on these inputs), or None."""
    n, d = x.shape
    result = expect_tuple(result, "neuron_gradients(x, w, b, y)", 2)
    dw, db = result
    if type(dw) is np.ndarray and dw.shape == (n,) and n != d:
        fail(f"dw has shape ({n},), one value per sample; it should have shape ({d},), one per "
             "weight", "dw_wrong_axis")
    if type(db) is np.ndarray and db.shape == (n,):
        fail(f"db is an array of shape {db.shape}; it should be one number for the whole batch",
             "db_not_summed")
    dw = expect_array(dw, "dw", shape=(d,))
    db = expect_scalar(db, "db")
    mistakes = _gradient_mistakes(x, w, b, y)
    _close(dw, expected_dw, f"dw ({source})", rtol=rtol, atol=atol,
           mistakes={k: v[0] for k, v in mistakes.items() if k != "db_not_summed"}, otherwise=formula)
    _close(db, expected_db, f"db ({source})", rtol=rtol, atol=atol,
           mistakes={k: v[1] for k, v in mistakes.items()}, otherwise=formula)


def _losses(value, steps):
    if type(value) in (list, tuple):
        value = np.array([expect_scalar(v, f"losses[{i}]") for i, v in enumerate(value)])
    return expect_array(value, "losses", shape=(steps,))


def _gd_result(result, d, steps):
    w, b, losses = expect_tuple(result, "gradient_descent(x, y, w0, b0, lr, steps)", 3)
    return expect_array(w, "w", shape=(d,)), expect_scalar(b, "b"), _losses(losses, steps)


def _agreement(actual, expected) -> float:
    """|cosine| of the angle between two vectors: 1 when one is a multiple of the other, whatever
    its sign and scale, near 0 for unrelated vectors, 0 when either is zero."""
    actual, expected = np.ravel(actual), np.ravel(expected)
    norms = float(np.linalg.norm(actual) * np.linalg.norm(expected))
    return abs(float(actual @ expected)) / norms if norms > 0 else 0.0


def _replay_descent(student, x, y, w0, b0, lr, steps):
    """[w, b] after ``steps`` updates w <- w - lr * dw with the student's own neuron_gradients."""
    w, b = w0.copy(), b0
    for _ in range(steps):
        dw, db = expect_tuple(student.neuron_gradients(x.copy(), w.copy(), b, y.copy()), "neuron_gradients", 2)
        w = w - lr * expect_array(dw, "dw", shape=w0.shape)
        b = b - lr * expect_scalar(db, "db")
    return np.append(w, b)


def _gd_numpy(x, y, w0, b0, lr_w, lr_b, steps):
    """Gradient descent in NumPy with its own step for w and for b (a negative one climbs)."""
    w, b, losses, n = w0.copy(), b0, [], x.shape[0]
    for _ in range(steps):
        a = _sig(x @ w + b)
        losses.append(float(np.mean((a - y) ** 2)))
        delta = 2.0 * (a - y) / n * a * (1 - a)
        w, b = w - lr_w * (x.T @ delta), b - lr_b * float(np.sum(delta))
    return w, b, np.array(losses)


def _ascent_mistakes(x, y, w0, b0, lr, steps, part):
    """(gd_ascent, the w, b or losses (part 0, 1, 2) of a descent where w, b or both climb)."""
    return [("gd_ascent", _gd_numpy(x, y, w0, b0, sw * lr, sb * lr, steps)[part])
            for sw, sb in ((-1, -1), (-1, 1), (1, -1))]


def _curved(theta, scale):
    return float(np.sum(np.exp(scale * theta)) + 0.5 * np.sum(theta) ** 2)


def _differences(f, theta, eps):
    """(central, forward) differences of f at theta, computed here."""
    central, forward = np.zeros_like(theta), np.zeros_like(theta)
    f0 = f(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = eps
        central[i] = (f(theta + step) - f(theta - step)) / (2 * eps)
        forward[i] = (f(theta + step) - f0) / eps
    return central, forward


# ---------------------------------------------------------------- sigmoid

def test_sigmoid_matches_reference(student, rng):
    z = rng.normal(scale=6.0, size=(5, 7))
    s = expect_array(student.sigmoid(z.copy()), "sigmoid(z) for z of shape (5, 7)", shape=(5, 7))
    assert_close(s, _np(ref.sigmoid(z)), "sigmoid(z)", rtol=1e-10, atol=1e-12, mistakes=_sigmoid_mistakes(z, s))


def test_sigmoid_extreme_inputs(student, rng):
    fixed = [-1e4, -1000.0, -745.0, -710.0, -40.0, 0.0, 40.0, 710.0, 745.0, 1000.0, 1e4]
    z = np.concatenate([fixed,
                        rng.choice([-1.0, 1.0], size=5) * rng.uniform(1e3, 1e4, size=5)])
    with _no_warning("sigmoid(z) for |z| up to 1e4"):
        s = student.sigmoid(z.copy())
    s = expect_array(s, f"sigmoid(z) for z of shape {z.shape}", shape=z.shape, finite=False)
    if not np.all(np.isfinite(s)):
        bad = z[~np.isfinite(s)]
        fail(f"sigmoid gives nan or inf at z = {bad[0]:g}; it should give a number in [0, 1]",
             "sigmoid_overflow")
    assert_close(s, _np(ref.sigmoid(z)), "sigmoid(z) for |z| up to 1e4", rtol=1e-10, atol=1e-12,
                 mistakes=_sigmoid_mistakes(z, s))


def test_sigmoid_prime_matches_reference(student, rng):
    z = np.concatenate([rng.normal(scale=4.0, size=9), [-1e4, -800.0, 800.0, 1e4]])
    with _no_warning("sigmoid_prime(z) for |z| up to 1e4"):
        ds = student.sigmoid_prime(z.copy())
    ds = expect_array(ds, "sigmoid_prime(z) for z of shape (13,)", shape=z.shape, finite=False)
    if not np.all(np.isfinite(ds)):
        fail("sigmoid_prime gives nan or inf for large |z|; it should give 0 there",
             "sigmoid_overflow")
    # where the student's own sigmoid is right, a wrong sigmoid_prime is its own formula's fault
    _close(ds, _np(ref.sigmoid_prime(z)), "sigmoid_prime(z)", rtol=1e-9, atol=1e-12,
           mistakes={"sigmoid_prime_of_z": z * (1 - z)},
           otherwise="sigmoid_prime_formula" if _sigmoid_right(student, z) else None)


# ---------------------------------------------------------------- forward pass and loss

def test_neuron_forward_matches_reference(student, rng):
    x, w, b, _ = _data(rng, 11, 4, w_scale=1.5)
    a = expect_array(student.neuron_forward(x.copy(), w.copy(), b),
                     "neuron_forward(x, w, b) for x of shape (11, 4)", shape=(11,))
    _close(a, _np(ref.neuron_forward(x, w, b)), "neuron_forward(x, w, b)", rtol=1e-10, atol=1e-12,
           mistakes={"bias_sign": _sig(x @ w - b)},
           otherwise="forward_formula" if _sigmoid_right(student, x @ w + b) else None)


def test_mse_loss_matches_reference(student, rng):
    a, y = rng.uniform(size=13), rng.uniform(size=13)
    loss = expect_scalar(student.mse_loss(a.copy(), y.copy()),
                         "mse_loss(a, y) for a, y of shape (13,)")
    expected = _np(ref.mse_loss(a, y))
    _close(loss, expected, "mse_loss(a, y)", rtol=1e-10, atol=1e-14,
           mistakes={"mse_sum_not_mean": expected * 13, "mse_half": expected / 2}, otherwise="mse_formula")


# ---------------------------------------------------------------- gradients

def test_neuron_gradients_match_autograd(student, rng):
    x, w, b, y = _data(rng, 9, 4)
    dw, db = ref.neuron_gradients(x, w, b, y)
    _check_gradients(student.neuron_gradients(x.copy(), w.copy(), b, y.copy()), x, w, b, y,
                     _np(dw), _np(db), "compared with PyTorch autograd", rtol=1e-8, atol=1e-12,
                     formula="gradient_formula" if _sigmoid_and_forward_right(student, x, w, b) else None)


def test_neuron_gradients_match_finite_differences(student, rng):
    x, w, b, y = _data(rng, 13, 3, w_scale=1.2)

    def loss(w_, b_):
        return float(np.mean((_sig(x @ w_ + b_) - y) ** 2))

    eps = 1e-6
    num_dw = np.array([(loss(w + eps * e, b) - loss(w - eps * e, b)) / (2 * eps)
                       for e in np.eye(3)])
    num_db = (loss(w, b + eps) - loss(w, b - eps)) / (2 * eps)
    _check_gradients(student.neuron_gradients(x.copy(), w.copy(), b, y.copy()), x, w, b, y,
                     num_dw, num_db, "compared with central differences of the loss", rtol=1e-6, atol=1e-10,
                     formula="gradient_formula" if _sigmoid_and_forward_right(student, x, w, b) else None)


# ---------------------------------------------------------------- numerical gradient

def test_numerical_gradient_central_accuracy(student, rng):
    scale = 3.0
    theta = rng.normal(scale=0.5, size=6)
    grad = student.numerical_gradient(FixtureRef("neuron_support:curved_function", scale=scale),
                                      theta.copy())
    grad = expect_array(grad, "numerical_gradient(f, theta) for theta of shape (6,)", shape=(6,))
    exact = scale * np.exp(scale * theta) + np.sum(theta)
    central, forward = _differences(lambda t: _curved(t, scale), theta, 1e-5)
    _close(grad, exact, "numerical_gradient(f, theta) with the default eps, compared with "
           "the exact gradient of a strongly curved f", rtol=1e-7, atol=1e-9,
           mistakes={"forward_difference": forward, "central_diff_divisor": 2 * central}, otherwise="numgrad_formula")


def test_numerical_gradient_uses_eps(student, rng):
    scale, eps = 3.0, 1e-2
    theta = rng.normal(scale=0.5, size=5)
    grad = student.numerical_gradient(FixtureRef("neuron_support:curved_function", scale=scale),
                                      theta.copy(), eps=eps)
    grad = expect_array(grad, "numerical_gradient(f, theta, eps=1e-2)", shape=(5,))
    central, forward = _differences(lambda t: _curved(t, scale), theta, eps)
    small, _ = _differences(lambda t: _curved(t, scale), theta, 1e-5)
    _close(grad, central, "numerical_gradient(f, theta, eps=1e-2), compared with central "
           "differences of step 1e-2", rtol=1e-8, atol=1e-10,
           mistakes={"eps_ignored": small, "forward_difference": forward, "central_diff_divisor": 2 * central},
           otherwise="numgrad_formula")


def _numerical_gradient_of_neuron_loss(student, x, w, b, y, theta):
    """The student's numerical_gradient of the neuron's loss at theta = [w, b], checked against autograd."""
    grad = student.numerical_gradient(FixtureRef("neuron_support:neuron_loss", x=x, y=y), theta)
    grad = expect_array(grad, f"numerical_gradient(neuron loss, [w, b]) for theta of shape {theta.shape}",
                        shape=theta.shape)
    dw, db = ref.neuron_gradients(x, w, b, y)
    central, forward = _differences(neuron_loss(x, y), theta, 1e-5)
    _close(grad, np.concatenate([_np(dw), [_np(db)]]),
           "numerical_gradient of the neuron's loss, compared with autograd's [dw, db]", rtol=1e-6, atol=1e-10,
           mistakes={"forward_difference": forward, "central_diff_divisor": 2 * central}, otherwise="numgrad_formula")


def test_numerical_gradient_leaves_theta_unchanged(student, rng):
    x, w, b, y = _data(rng, 10, 8)
    theta = np.concatenate([w, [b]])
    grad, args_after, _ = call_with_arguments(
        student.numerical_gradient, FixtureRef("neuron_support:neuron_loss", x=x, y=y), theta.copy())
    theta_after = args_after[1]  # the student's copy of theta, as the call left it
    if type(theta_after) is not np.ndarray or not np.array_equal(theta_after, theta):
        fail("numerical_gradient changed the caller's theta; perturb a copy of it", "theta_modified")
    grad = expect_array(grad, "numerical_gradient(neuron loss, [w, b]) for theta of shape (9,)", shape=(9,))
    dw, db = ref.neuron_gradients(x, w, b, y)
    agreement = _agreement(grad, np.append(_np(dw), _np(db)))
    # an untouched theta is worth something only beside a gradient; its accuracy is judged elsewhere
    if agreement < ROUGHLY:
        fail("theta was left unchanged, but numerical_gradient of the neuron's loss does not follow "
             f"autograd's [dw, db] even roughly (|cosine| {agreement:.2f}, at least {ROUGHLY} expected); "
             "this test pays only for a numerical gradient that computes the gradient")


def test_numerical_gradient_of_neuron_loss(student, rng):
    x, w, b, y = _data(rng, 10, 4)
    _numerical_gradient_of_neuron_loss(student, x, w, b, y, np.concatenate([w, [b]]))


# ---------------------------------------------------------------- gradient descent

def test_gradient_descent_matches_reference(student, rng):
    x, w0, b0, y = _data(rng, 12, 3)
    lr, steps = 0.8, 25
    result = student.gradient_descent(x.copy(), y.copy(), w0.copy(), b0, lr, steps)
    w, b, losses = _gd_result(result, 3, steps)
    ref_w, ref_b, ref_losses = (_np(v) for v in ref.gradient_descent(x, y, w0, b0, lr, steps))
    ref_final = _np(ref.mse_loss(ref.neuron_forward(x, ref_w, ref_b), y))
    assert_close(w, ref_w, "w after 25 steps", rtol=1e-8, atol=1e-12,
                 mistakes=_ascent_mistakes(x, y, w0, b0, lr, steps, 0))
    assert_close(b, ref_b, "b after 25 steps", rtol=1e-8, atol=1e-12,
                 mistakes=_ascent_mistakes(x, y, w0, b0, lr, steps, 1))
    # the returned parameters are right; now the history, against the reference's, not the student's
    assert_close(losses, ref_losses, "losses (losses[i] is the loss before update i)",
                 rtol=1e-8, atol=1e-12,
                 mistakes={"loss_after_update": np.append(ref_losses[1:], ref_final),
                           "mse_sum_not_mean": ref_losses * 12, "mse_half": ref_losses / 2})
    if not ref_final < losses[0]:
        fail("the loss of the returned (w, b) is not below losses[0]")


def test_gradient_descent_consistent_with_own_gradients(student, rng):
    x, w0, b0, y = _data(rng, 7, 5)
    lr, steps = 1.5, 4
    result = student.gradient_descent(x.copy(), y.copy(), w0.copy(), b0, lr, steps)
    w, b, losses = _gd_result(result, 5, steps)
    # replay the loop with the student's own neuron_gradients: isolates the update and the history
    def replay(sign_w, sign_b):
        w_k, b_k, before, after = w0.copy(), b0, [], []
        for _ in range(steps):
            before.append(float(np.mean((_sig(x @ w_k + b_k) - y) ** 2)))
            dw, db = expect_tuple(student.neuron_gradients(x.copy(), w_k.copy(), b_k, y.copy()),
                                  "neuron_gradients", 2)
            w_k = w_k - sign_w * lr * expect_array(dw, "dw", shape=(5,))
            b_k = b_k - sign_b * lr * expect_scalar(db, "db")
            after.append(float(np.mean((_sig(x @ w_k + b_k) - y) ** 2)))
        return w_k, b_k, np.array(before), np.array(after)

    w_k, b_k, before, after = replay(1.0, 1.0)
    # zero gradients would make the replay trivial (nothing moves): the steps must go somewhere
    ref_w, ref_b, _ = (_np(v) for v in ref.gradient_descent(x, y, w0, b0, lr, steps))
    moved, descent = (float(np.linalg.norm(np.append(u - w0, c - b0))) for u, c in ((w_k, b_k), (ref_w, ref_b)))
    if not moved > 0.05 * descent:
        fail(f"with your neuron_gradients, {steps} steps of lr = {lr} move (w, b) by {moved:.3g}, where gradient "
             f"descent moves it by {descent:.3g}: these gradients are (almost) zero, and checking the "
             "updates against them shows nothing")
    # the same replay where w, b or both climb (w + lr * dw): what an update of the wrong sign gives
    climbs = [replay(sign_w, sign_b) for sign_w, sign_b in ((-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0))]
    assert_close(losses, before, "losses compared with the loss at each step before its update",
                 rtol=1e-8, atol=1e-12,
                 mistakes=[("loss_after_update", after)] + [("gd_ascent", c[2]) for c in climbs])
    assert_close(w, w_k, "w after 4 steps of w <- w - lr * dw with your own neuron_gradients",
                 rtol=1e-8, atol=1e-12, mistakes=[("gd_ascent", c[0]) for c in climbs])
    assert_close(b, b_k, "b after 4 steps of b <- b - lr * db with your own neuron_gradients",
                 rtol=1e-8, atol=1e-12, mistakes=[("gd_ascent", c[1]) for c in climbs])


def test_gradient_descent_leaves_w0_unchanged(student, rng):
    x, w0, b0, y = _data(rng, 10, 8)
    lr, steps = 0.5, 3
    result, args_after, _ = call_with_arguments(student.gradient_descent, x, y, w0.copy(), b0, lr, steps)
    w0_after = args_after[2]  # the student's copy of w0, as the call left it
    if type(w0_after) is not np.ndarray or not np.array_equal(w0_after, w0):
        fail("gradient_descent changed the caller's w0; update a copy of it", "w0_modified")
    w, b, _ = _gd_result(result, 8, steps)
    # an untouched w0 is worth something only beside a descent: the move from (w0, b0) must follow,
    # roughly, the reference's or the one your own neuron_gradients give; its accuracy is judged elsewhere
    ref_w, ref_b, _ = (_np(v) for v in ref.gradient_descent(x, y, w0, b0, lr, steps))
    start, moved = np.append(w0, b0), np.append(w, b) - np.append(w0, b0)
    agreement = _agreement(moved, np.append(ref_w, ref_b) - start)
    if agreement < ROUGHLY:
        try:
            own = _replay_descent(student, x, y, w0, b0, lr, steps)
        except Exception:  # neuron_gradients raised or gave no usable gradient: the reference alone
            own = start
        agreement = max(agreement, _agreement(moved, own - start))
    if agreement < ROUGHLY:
        fail(f"w0 was left unchanged, but the (w, b) after {steps} steps is not where gradient descent goes, "
             f"even roughly (|cosine| {agreement:.2f} between the moves, at least {ROUGHLY} expected); this test "
             "pays only for a gradient descent that descends")
