"""Public tests for exercise 01 (neuron_gradient).

Run them from this folder with ``pytest``. They check known values (and fresh random ones beside
them, so that no fixed answer passes), shapes and a finite-difference check of your gradient. The
grader runs these and further hidden tests on fresh random inputs, so passing here is a good sign,
not a guarantee.
"""
from contextlib import contextmanager

import numpy as np

from nnex_check import (CheckFailed, FixtureRef, assert_close, expect_array, expect_no_warning, expect_scalar,
                        expect_tuple, fail)

STUDENT_MODULE = "neuron"


def _sigmoid(z):
    """The tests' own sigmoid, for expected values (not your code)."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sigmoid_mistakes(z, s):
    """What the known sigmoid mistakes give (your s is used where only one side of 0 is wrong)."""
    good = _sigmoid(z)
    return [("sigmoid_mirrored", np.where(np.isclose(s, 1.0 - good, rtol=1e-9, atol=1e-12), 1.0 - good, good)),
            ("sigmoid_step", (z >= 0).astype(np.float64)), ("sigmoid_step", (z > 0).astype(np.float64)),
            ("sigmoid_negative_side", np.where(z < 0, s, good)),
            ("sigmoid_positive_side", np.where(z >= 0, s, good))]


@contextmanager
def _no_warning(name):
    """The calls inside must raise no warning: an overflow is the sigmoid_overflow mistake, a
    division by zero division_by_zero."""
    try:
        with expect_no_warning(name):
            yield
    except CheckFailed as failure:
        fail(failure.detail, "sigmoid_overflow" if "overflow" in failure.detail
             else "division_by_zero" if "divide by zero" in failure.detail else None)


def _close_number(actual, expected, name, mistakes, otherwise, rtol=1e-10, atol=1e-14):
    """assert_close for one number: a wrong value that matches none of ``mistakes`` names ``otherwise``
    (a factor found between two numbers says little about why they differ)."""
    try:
        assert_close(actual, expected, name, rtol=rtol, atol=atol, mistakes=mistakes)
    except CheckFailed as failure:
        if failure.mistake in mistakes:
            raise
        fail(failure.detail, otherwise)


def _loss(x, w, b, y):
    """The tests' own mean squared error of the neuron."""
    return float(np.mean((_sigmoid(x @ w + b) - y) ** 2))


def _neuron_data(rng, n=6, d=4):
    """A small batch with N != D, so that a transposed x shows up as a shape error."""
    x = rng.normal(size=(n, d))
    w = rng.normal(scale=0.7, size=d)
    b = float(rng.normal())
    y = rng.uniform(size=n)
    return x, w, b, y


def _central_gradient(x, w, b, y, eps=1e-6):
    """Central differences of the tests' own loss: (dL/dw (D,), dL/db)."""
    dw = np.array([(_loss(x, w + eps * e, b, y) - _loss(x, w - eps * e, b, y)) / (2 * eps)
                   for e in np.eye(w.size)])
    return dw, (_loss(x, w, b + eps, y) - _loss(x, w, b - eps, y)) / (2 * eps)


def _gradient_mistakes(x, w, b, y):
    """{mistake id: (dw, db) that mistake gives}, for the catalogued gradient mistakes."""
    n = x.shape[0]
    z = x @ w + b
    a = _sigmoid(z)
    good = 2.0 * (a - y) / n * a * (1 - a)

    def pair(delta):
        return x.T @ delta, float(np.sum(delta))

    dw, db = pair(good)
    return {"grad_sum_not_mean": (dw * n, db * n), "grad_missing_factor_2": (dw / 2, db / 2),
            "gradient_sign": (-dw, -db), "sigmoid_prime_of_z": pair(2.0 * (a - y) / n * z * (1 - z)),
            "sigmoid_prime_of_a": pair(2.0 * (a - y) / n * _sigmoid(a) * (1 - _sigmoid(a))),
            "db_not_summed": (dw, float(good[0]))}


def _right(value, expected):
    """Whether a value is a float array of the expected shape, close to ``expected``."""
    return type(value) is np.ndarray and value.shape == np.shape(expected) and value.dtype.kind == "f" \
        and bool(np.allclose(value, expected, rtol=1e-9, atol=1e-12))


def _sigmoid_right(student, z):
    """Whether your sigmoid is right at z: then a wrong value computed from it lies elsewhere."""
    try:
        return _right(student.sigmoid(z.copy()), _sigmoid(z))
    except Exception:  # a failure of sigmoid itself is the sigmoid tests' to report
        return False


def _forward_right(student, x, w, b):
    """Whether your sigmoid and neuron_forward are right here: then a wrong gradient lies in
    neuron_gradients itself."""
    try:
        forward = student.neuron_forward(x.copy(), w.copy(), b)
    except Exception:
        return False
    return _sigmoid_right(student, x @ w + b) and _right(forward, _sigmoid(x @ w + b))


def _descent(x, y, w0, b0, lr_w, lr_b, steps):
    """The tests' own gradient descent, with a learning rate for w and one for b: (w, b)."""
    w, b, n = w0.copy(), b0, x.shape[0]
    for _ in range(steps):
        a = _sigmoid(x @ w + b)
        delta = 2.0 * (a - y) / n * a * (1 - a)
        w, b = w - lr_w * (x.T @ delta), b - lr_b * float(np.sum(delta))
    return w, b


def _losses_array(value, steps):
    """The losses as an array of shape (steps,): an ndarray, or a list of numbers."""
    if type(value) in (list, tuple):
        value = np.array([expect_scalar(v, f"losses[{i}]") for i, v in enumerate(value)])
    return expect_array(value, "losses", shape=(steps,))


def test_sigmoid_known_values(student, rng):
    z = np.array([[0.0, 2.0, -2.0], [1e4, -1e4, 30.0]])
    with _no_warning("sigmoid([[0, 2, -2], [1e4, -1e4, 30]])"):
        s = student.sigmoid(z)
    s = expect_array(s, "sigmoid(z) for z of shape (2, 3)", shape=(2, 3), finite=False)
    if not np.all(np.isfinite(s)):
        fail("sigmoid gives nan or inf for z = ±1e4; it should give 1 and 0", "sigmoid_overflow")
    assert_close(s, _sigmoid(z), "sigmoid(z) for z = [[0, 2, -2], [1e4, -1e4, 30]] (σ(0) = 0.5, "
                 "σ(-z) = 1 - σ(z))", rtol=1e-10, atol=1e-12, mistakes=_sigmoid_mistakes(z, s))
    z = rng.normal(scale=5.0, size=(3, 4))  # and fresh values, which no fixed answer fits
    s = expect_array(student.sigmoid(z.copy()), "sigmoid(z) for z of shape (3, 4)", shape=(3, 4))
    assert_close(s, _sigmoid(z), "sigmoid(z) for random z of shape (3, 4)", rtol=1e-10, atol=1e-12,
                 mistakes=_sigmoid_mistakes(z, s))


def test_sigmoid_prime_known_values(student, rng):
    z = np.array([0.0, 1.0, -3.0, 5.0])
    ds = expect_array(student.sigmoid_prime(z), "sigmoid_prime(z) for z of shape (4,)", shape=(4,))
    s = _sigmoid(z)
    _close_number(ds, s * (1 - s), "sigmoid_prime([0, 1, -3, 5])", {"sigmoid_prime_of_z": z * (1 - z)},
                  "sigmoid_prime_formula" if _sigmoid_right(student, z) else None, rtol=1e-10, atol=1e-12)
    assert_close(ds[0], 0.25, "sigmoid_prime(0)")
    z = rng.normal(scale=3.0, size=7)  # and fresh values, which no fixed answer fits
    ds = expect_array(student.sigmoid_prime(z.copy()), "sigmoid_prime(z) for z of shape (7,)", shape=(7,))
    s = _sigmoid(z)
    _close_number(ds, s * (1 - s), "sigmoid_prime(z) for random z of shape (7,)", {"sigmoid_prime_of_z": z * (1 - z)},
                  "sigmoid_prime_formula" if _sigmoid_right(student, z) else None, rtol=1e-10, atol=1e-12)


def test_neuron_forward_shape_and_values(student, rng):
    x, w, b, _ = _neuron_data(rng)
    a = expect_array(student.neuron_forward(x.copy(), w.copy(), b),
                     "neuron_forward(x, w, b) for x of shape (6, 4)", shape=(6,))
    assert_close(a, _sigmoid(x @ w + b), "neuron_forward(x, w, b)", rtol=1e-10, atol=1e-12,
                 mistakes={"bias_sign": _sigmoid(x @ w - b)})


def test_mse_loss_known_value(student, rng):
    a, y = np.array([0.5, 0.5, 1.0]), np.array([0.0, 1.0, 1.0])
    loss = expect_scalar(student.mse_loss(a, y), "mse_loss(a, y)")
    _close_number(loss, 0.5 / 3, "mse_loss([0.5, 0.5, 1], [0, 1, 1])",
                  {"mse_sum_not_mean": 0.5, "mse_half": 0.25 / 3}, "mse_formula")
    a, y = rng.uniform(size=8), rng.uniform(size=8)  # and fresh values, which no fixed answer fits
    loss = expect_scalar(student.mse_loss(a.copy(), y.copy()), "mse_loss(a, y) for a, y of shape (8,)")
    expected = float(np.mean((a - y) ** 2))
    _close_number(loss, expected, "mse_loss(a, y) for random a, y of shape (8,)",
                  {"mse_sum_not_mean": 8 * expected, "mse_half": expected / 2}, "mse_formula")


def test_neuron_gradients_finite_difference(student, rng):
    x, w, b, y = _neuron_data(rng)
    num_dw, num_db = _central_gradient(x, w, b, y)
    result = expect_tuple(student.neuron_gradients(x.copy(), w.copy(), b, y.copy()),
                          "neuron_gradients(x, w, b, y) for x of shape (6, 4)", 2)
    if type(result[0]) is np.ndarray and result[0].shape == (6,):
        fail("dw has shape (6,), one value per sample; it should have shape (4,), one per weight", "dw_wrong_axis")
    dw = expect_array(result[0], "dw", shape=w.shape)
    if type(result[1]) is np.ndarray and result[1].shape == (6,):
        fail("db has shape (6,), one value per sample; it should be one number: each sample "
             "contributes to dL/db", "db_not_summed")
    db = expect_scalar(result[1], "db")
    mistakes = _gradient_mistakes(x, w, b, y)
    formula = "gradient_formula" if _forward_right(student, x, w, b) else None
    _close_number(dw, num_dw, "dw compared with central differences of the loss",
                  {k: v[0] for k, v in mistakes.items() if k != "db_not_summed"}, formula, rtol=1e-5, atol=1e-8)
    _close_number(db, num_db, "db compared with central differences of the loss",
                  {k: v[1] for k, v in mistakes.items()}, formula, rtol=1e-5, atol=1e-8)


def test_numerical_gradient_quadratic(student, rng):
    c = rng.uniform(0.5, 2.0, size=5)
    theta = rng.normal(size=5)
    grad = student.numerical_gradient(FixtureRef("neuron_support:quadratic", c=c), theta.copy())
    grad = expect_array(grad, "numerical_gradient(f, theta) for theta of shape (5,)", shape=(5,))
    eps = 1e-5  # numerical_gradient's default
    forward = 2 * c * theta + c * eps  # (f(theta + eps) - f(theta)) / eps for this f
    assert_close(grad, 2 * c * theta, "numerical_gradient of sum(c * theta**2)", rtol=1e-6, atol=1e-8,
                 mistakes={"forward_difference": forward, "central_diff_divisor": 4 * c * theta})


def test_gradient_descent_lowers_loss(student, rng):
    x, w0, b0, y = _neuron_data(rng)
    lr, steps = 0.5, 20
    result = expect_tuple(student.gradient_descent(x.copy(), y.copy(), w0.copy(), b0, lr, steps),
                          "gradient_descent(x, y, w0, b0, lr=0.5, steps=20)", 3)
    w = expect_array(result[0], "w", shape=w0.shape)
    b = expect_scalar(result[1], "b")
    losses = _losses_array(result[2], steps)
    dw, db = _central_gradient(x, w0, b0, y)
    assert_close(losses[0], _loss(x, w0, b0, y),
                 "losses[0] (the loss at w0, b0, before any update)",
                 mistakes={"loss_after_update": _loss(x, w0 - lr * dw, b0 - lr * db, y)})
    final = _loss(x, w, b, y)
    for sign_w, sign_b in ((-1, -1), (-1, 1), (1, -1)):  # w, b or both climbing: w + lr * dw
        climbed = _descent(x, y, w0, b0, sign_w * lr, sign_b * lr, steps)
        if np.allclose(w, climbed[0], rtol=1e-6, atol=1e-9) and np.isclose(b, climbed[1], rtol=1e-6, atol=1e-9):
            fail(f"the loss went from {losses[0]:.6g} at (w0, b0) to {final:.6g} at the returned (w, b): "
                 f"{'w and b' if sign_w == sign_b else 'w' if sign_w < 0 else 'b'} moved up the gradient",
                 "gd_ascent")
    if not final < losses[0]:
        fail(f"the loss went from {losses[0]:.6g} at (w0, b0) to {final:.6g} at the returned "
             "(w, b); gradient descent with lr = 0.5 should lower it: check the direction of the update")
    if not np.all(np.diff(losses) < 0):
        fail("losses should decrease at every step for this small learning rate")
