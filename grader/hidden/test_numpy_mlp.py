"""Hidden tests for exercise 02 (numpy_mlp). Never shown to students.

Fresh seeded inputs (the ``rng`` fixture) in float64, with N, D and M all different so that a
transposed gradient shows up; the PyTorch reference (autograd, torch.optim.Adam) as the oracle;
statistics for the initialisation; and a training run whose accuracy the judge measures itself,
from the returned parameters, with the reference's forward pass on points the network never saw.
The training data are two moons turned by an angle and with labels maybe swapped, both drawn here,
so that no network fixed in advance fits them. A property (the generator used, a reproducible
training) earns its points only from a function that computes its task, at least roughly: weights
that look like an initialisation, a network that fits its data. When a wrong answer equals what a
catalogued mistake gives, the failure names it.
"""
import warnings
import zlib

import numpy as np
import pytest

from mlp_support import make_moons, plot_classifier
from nnex_check import (CheckFailed, assert_close, expect_array, expect_no_warning, expect_raises, expect_scalar,
                        expect_tuple, fail)
from reference import numpy_mlp as ref

STUDENT_MODULE = "mlp"


# ---------------------------------------------------------------- helpers (judge side only)

def _np(value):
    """A reference result as float64 NumPy (array or Python float for 0-d)."""
    array = value.detach().cpu().double().numpy()
    return float(array) if array.ndim == 0 else array


def _close(actual, expected, name, rtol, atol, mistakes=None, otherwise=None, generic=True):
    """assert_close; a failure that names no mistake names ``otherwise`` (the wrong formula of the
    function under test, where the test has made sure that nothing else can be to blame).
    generic=False: no mistake found by the checks' generic relations (a factor or an offset between
    an optimiser's trajectories, or between two lists of equal numbers, says nothing of the cause)."""
    try:
        assert_close(actual, expected, name, rtol=rtol, atol=atol, mistakes=mistakes)
    except CheckFailed as failure:
        known = {m for m, _ in (mistakes.items() if isinstance(mistakes, dict) else mistakes or ())}
        named = failure.mistake if generic or failure.mistake in known else None
        if named is None and otherwise:
            fail(failure.detail, otherwise)
        if named != failure.mistake:
            fail(failure.detail)
        raise


def _quietly(check, *args):
    """check(*args), False where it raises: probes of the student's other functions, whose own
    failures are judged by their own tests."""
    try:
        return bool(check(*args))
    except Exception:
        return False


def _same(value, expected, rtol=1e-9, atol=1e-12):
    """Whether a student's answer is a float array of the expected shape, close to ``expected``."""
    return type(value) is np.ndarray and value.shape == np.shape(expected) and value.dtype.kind == "f" \
        and bool(np.allclose(value, expected, rtol=rtol, atol=atol))


def _layers_right(student, rng):
    """Whether the student's linear and ReLU layers, forward and backward, are right on fresh inputs:
    where they are, a wrong network pass lies in mlp_forward or mlp_backward themselves."""
    x, W, b, dout = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=(4, 2))

    def check():
        out, cache = student.linear_forward(x.copy(), W.copy(), b.copy())
        dx, dW, db = student.linear_backward(dout.copy(), cache)
        r_out, r_cache = student.relu_forward(x.copy())
        r_dx = student.relu_backward(x.copy(), r_cache)
        return (_same(out, x @ W + b) and _same(dx, dout @ W.T) and _same(dW, x.T @ dout) and _same(db, dout.sum(0))
                and _same(r_out, np.maximum(x, 0.0)) and _same(r_dx, x * (x > 0)))
    return _quietly(check)


def _forward_right(student, params, x):
    """Whether the student's mlp_forward gives the right logits for these params and x."""
    return _quietly(lambda: _same(student.mlp_forward(_copy(params), x.copy())[0], _forward_numpy(params, x)[0]))


def _sigmoid_side_mistakes(s, sigma_of_student, make):
    """(mistake id, value) for a σ(s) that is wrong in the catalogued ways: ``sigma_of_student`` is the
    σ the student's answer implies, ``make`` turns a σ into the answer. Where σ is wrong only for
    logits of one sign, the candidate is the student's there and right elsewhere."""
    good = 1.0 / (1.0 + np.exp(-np.clip(s, -700, 700)))
    mirrored = np.where(np.isclose(sigma_of_student, 1.0 - good, rtol=1e-9, atol=1e-12), 1.0 - good, good)
    return [("sigmoid_mirrored", make(mirrored)),
            ("sigmoid_negative_side", make(np.where(s < 0, sigma_of_student, good))),
            ("sigmoid_positive_side", make(np.where(s >= 0, sigma_of_student, good)))]


def _sizes_params(sizes):
    """{name: shape} of the parameters of a network with these layer sizes."""
    shapes = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        shapes[f"W{layer}"], shapes[f"b{layer}"] = (fan_in, fan_out), (fan_out,)
    return shapes


def _random_params(rng, sizes, bias_scale=0.3):
    params = {}
    for name, shape in _sizes_params(sizes).items():
        scale = bias_scale if name.startswith("b") else 1.0 / np.sqrt(shape[0])
        params[name] = rng.normal(scale=scale, size=shape)
    return params


def _copy(params):
    return {name: value.copy() for name, value in params.items()}


def _param_dict(value, shapes, name):
    """value must be a dict with exactly the keys of ``shapes``, each a float array of that shape.

    A weight gradient of the transposed shape, or a bias gradient with one row per sample, is named.
    """
    if type(value) is not dict or set(value) != set(shapes):
        got = f"the keys {sorted(value)}" if type(value) is dict else f"a {type(value).__name__}"
        fail(f"{name} should be a dict with the keys {sorted(shapes)}, got {got}",
             "param_keys" if type(value) is dict else None)
    checked = {}
    for key, shape in shapes.items():
        item = value[key]
        if type(item) is np.ndarray and key.startswith("W") and item.shape == shape[::-1] != shape:
            fail(f"{name}[{key!r}] has shape {item.shape}, the transpose of {shape}", "dW_transposed")
        if type(item) is np.ndarray and key.startswith("b") and item.ndim == 2 and item.shape[1:] == shape:
            fail(f"{name}[{key!r}] has shape {item.shape}, one row per sample; it should have shape {shape}",
                 "db_not_summed")
        if key.startswith("b") and (isinstance(item, (float, np.floating)) or
                                    (type(item) is np.ndarray and item.ndim == 0)):
            fail(f"{name}[{key!r}] is one number; it should have shape {shape}: sum over the samples only "
                 "(axis 0)", "db_not_summed")
        checked[key] = expect_array(item, f"{name}[{key!r}]", shape=shape)
    return checked


def _flat(params):
    return np.concatenate([np.ravel(params[k]) for k in sorted(params)])


def _forward_numpy(params, x, relu_on_output=False):
    """The network's logits (N,) and the pre-activations of each layer, in NumPy."""
    h, pre = x, []
    n_layers = len(params) // 2
    for layer in range(1, n_layers + 1):
        z = h @ params[f"W{layer}"] + params[f"b{layer}"]
        pre.append(z)
        h = np.maximum(z, 0.0) if layer < n_layers or relu_on_output else z
    return h[:, 0], pre


def _backward_numpy(params, x, dlogits, relu_grad_at_zero=1.0):
    """Gradients of sum(logits * dlogits) with ReLU'(0) = relu_grad_at_zero (the right value is 0)."""
    _, pre = _forward_numpy(params, x)
    n_layers = len(params) // 2
    grads, dout = {}, dlogits[:, None]
    for layer in range(n_layers, 0, -1):
        h_in = x if layer == 1 else np.maximum(pre[layer - 2], 0.0)
        grads[f"W{layer}"], grads[f"b{layer}"] = h_in.T @ dout, dout.sum(axis=0)
        if layer > 1:
            z = pre[layer - 2]
            dout = (dout @ params[f"W{layer}"].T) * np.where(z > 0, 1.0, np.where(z == 0, relu_grad_at_zero, 0.0))
    return grads


def _adam_numpy(params, grads_per_step, lr, beta1=0.9, beta2=0.999, eps=1e-8, t_of_step=lambda k: k,
                bias_correction=True, eps_inside_sqrt=False):
    """Adam with a mistake or two switched on: the flattened parameters after each step, (steps, P)."""
    theta = _flat(params)
    m, v, history = np.zeros_like(theta), np.zeros_like(theta), []
    with np.errstate(all="ignore"):
        for k, grads in enumerate(grads_per_step, start=1):
            g, t = _flat(grads), t_of_step(k)
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g ** 2
            m_hat, v_hat = (m / (1 - beta1 ** t), v / (1 - beta2 ** t)) if bias_correction else (m, v)
            theta = theta - lr * m_hat / (np.sqrt(v_hat + eps) if eps_inside_sqrt else np.sqrt(v_hat) + eps)
            history.append(theta)
    return np.array(history)


def _disguised(x, y, rng):
    """The two moons turned by an angle drawn from rng, and their labels swapped half the time."""
    angle = rng.uniform(0.0, 2.0 * np.pi)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return x @ rotation.T, (1.0 - y if rng.uniform() < 0.5 else y)


def _losses(value, count, name):
    """A list or array of ``count`` finite numbers, as an array."""
    if type(value) in (list, tuple):
        value = np.array([expect_scalar(v, f"{name}[{i}]") for i, v in enumerate(value)])
    return expect_array(value, name, shape=(count,))


# ---------------------------------------------------------------- initialisation

def _check_init_statistics(params, sizes, scheme):
    """Each W_l has mean 0 and the scheme's standard deviation (within sampling error); biases are 0."""
    shapes = _sizes_params(sizes)
    params = _param_dict(params, shapes, f"init_params({sizes}, rng, scheme={scheme!r})")
    for name, shape in shapes.items():
        value = params[name]
        if name.startswith("b"):
            if np.any(value != 0):
                fail(f"{name} should start at exactly zero; got values up to {np.max(np.abs(value)):.3g}")
            continue
        fan_in, fan_out = shape
        n = value.size
        he, he_out = np.sqrt(2.0 / fan_in), np.sqrt(2.0 / fan_out)
        xavier = np.sqrt(2.0 / (fan_in + fan_out))
        expected = he if scheme == "he" else xavier
        std, mean = float(np.std(value)), float(np.mean(value))
        slack = 6.0 / np.sqrt(2 * n)  # six standard errors of a sample standard deviation

        def near(target):
            return abs(std / target - 1) < slack

        if not near(expected):
            if scheme == "he":
                mistake = "he_fan_out" if near(he_out) else "he_variance"
            else:
                mistake = "scheme_ignored" if near(he) else "xavier_variance"
            fail(f"{name} of shape {shape} has standard deviation {std:.4g}; the {scheme!r} scheme gives "
                 f"{expected:.4g} (fan_in = {fan_in}, fan_out = {fan_out})", mistake)
        if abs(mean) > 6.0 * expected / np.sqrt(n):
            fail(f"{name} has mean {mean:.3g}; the weights should be drawn around 0", "init_mean")
        if n >= 10_000:  # a normal distribution has kurtosis 3 (a uniform one 1.8)
            kurtosis = float(np.mean((value - mean) ** 4) / std ** 4)
            if abs(kurtosis - 3.0) > 0.5:
                fail(f"the values of {name} do not look normally distributed (kurtosis {kurtosis:.2f}, "
                     "a normal distribution has 3); draw them with rng.normal")


def test_init_params_he_statistics(student, rng):
    sizes = [64, 256, 48, 1]  # fan_in and fan_out far apart in every layer
    params = student.init_params(sizes, np.random.default_rng(rng.integers(2**32)))
    _check_init_statistics(params, sizes, "he")


def test_init_params_xavier_statistics(student, rng):
    sizes = [48, 320, 40, 1]
    params = student.init_params(sizes, np.random.default_rng(rng.integers(2**32)), scheme="xavier")
    _check_init_statistics(params, sizes, "xavier")


def _looks_initialised(params, sizes):
    """None when the weights look like an initialisation, roughly; else what does not.

    Every W_l is divided by He's standard deviation sqrt(2 / fan_in) and the values are pooled: they
    must be centred on 0 (|mean| at most half their spread) with a spread within a factor 4 of 1.
    The He, Xavier and fan_out variants, and a wrong scale within that factor, pass; values in
    [0, 1), constants and zeros do not.
    """
    scaled = np.concatenate([np.ravel(params[f"W{layer}"]) / np.sqrt(2.0 / fan_in)
                             for layer, fan_in in enumerate(sizes[:-1], start=1)])
    spread, centre = float(np.std(scaled)), float(np.mean(scaled))
    if not 0.25 <= spread <= 4.0 or abs(centre) > 0.5 * spread:
        return (f"the weights, each divided by sqrt(2 / fan_in), have mean {centre:.3g} and standard "
                f"deviation {spread:.3g}; an initialisation gives about 0 and 1")
    return None


def test_init_params_uses_the_given_generator(student, rng):
    sizes = [6, 9, 4, 1]
    seed = int(rng.integers(2**32))
    shapes = _sizes_params(sizes)
    first = _param_dict(student.init_params(sizes, np.random.default_rng(seed)), shapes, "init_params")
    again = _param_dict(student.init_params(sizes, np.random.default_rng(seed)), shapes, "init_params")
    other = _param_dict(student.init_params(sizes, np.random.default_rng(seed + 1)), shapes, "init_params")
    if not np.array_equal(_flat(first), _flat(again)):
        fail("two calls with generators in the same state gave different weights", "global_rng")
    if np.array_equal(_flat(first), _flat(other)):
        fail("generators seeded differently gave the same weights", "global_rng")
    # reproducible randomness is worth something only as an initialisation; its exact statistics
    # are judged by the tests above
    for params in (first, other):
        problem = _looks_initialised(params, sizes)
        if problem:
            fail(f"init_params({sizes}, rng) draws from the generator, but {problem}: this test pays only "
                 "for weights that look like an initialisation")


def test_init_params_checks_its_arguments(student, rng):
    seed = int(rng.integers(2**32))
    with expect_raises(ValueError, "init_params(sizes, rng, scheme='lecun') (an unknown scheme)",
                       "unknown_scheme_accepted"):
        student.init_params([5, 7, 1], np.random.default_rng(seed), scheme="lecun")
    # a network without hidden layers (logistic regression) is a valid one: [D, 1]
    try:
        single = student.init_params([300, 1], np.random.default_rng(seed))
    except Exception as error:
        if type(error).__name__ == "StudentError" and " raised ValueError" in str(error).split(":")[0]:
            fail(f"{str(error)[:300]}; two sizes, the inputs and the output, make a valid network with one "
                 "layer", "layer_sizes_check")
        raise
    single = _param_dict(single, _sizes_params([300, 1]), "init_params([300, 1], rng)")
    # refusing what is wrong is worth something only beside an initialisation of what is right
    problem = _looks_initialised(single, [300, 1])
    if problem:
        fail(f"init_params([300, 1], rng) refuses an unknown scheme, but {problem}: this test pays only for "
             "weights that look like an initialisation")
    # Documented equivalents (nnex validate): "len(layer_sizes) < 2" -> "< 1" accepts a list of one size
    # (returning no parameters) instead of raising; the task asks for at least two sizes but prescribes
    # no error for fewer, so no test asks for one.


# ---------------------------------------------------------------- the linear layer

def test_linear_forward_matches_reference(student, rng):
    x, W, b = rng.normal(size=(7, 5)), rng.normal(size=(5, 3)), rng.normal(size=3)
    out, _ = expect_tuple(student.linear_forward(x.copy(), W.copy(), b.copy()),
                          "linear_forward(x, W, b)", 2)
    out = expect_array(out, "out of linear_forward for x (7, 5), W (5, 3), b (3,)", shape=(7, 3))
    _close(out, _np(ref.linear_forward(x, W, b)), "out = x @ W + b", rtol=1e-10, atol=1e-12,
           mistakes={"bias_sign": x @ W - b}, otherwise="linear_forward_formula")


def test_linear_backward_matches_reference(student, rng):
    n, d, m = 7, 5, 3
    first = (rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m))
    second = (rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m))
    dout = rng.normal(size=(n, m))
    first_out, cache = expect_tuple(student.linear_forward(*(a.copy() for a in first)), "linear_forward", 2)
    formula = "linear_backward_formula" if _same(first_out, first[0] @ first[1] + first[2]) else None
    # a second forward pass in between: the first cache alone must say what the first layer saw
    expect_tuple(student.linear_forward(*(a.copy() for a in second)), "linear_forward", 2)
    dx, dW, db = expect_tuple(student.linear_backward(dout.copy(), cache), "linear_backward(dout, cache)", 3)
    if type(dW) is np.ndarray and dW.shape == (m, d):
        fail(f"dW has shape {dW.shape}, the transpose of W's shape {(d, m)}", "dW_transposed")
    if type(db) is np.ndarray and db.shape == (n, m):
        fail(f"db has shape {db.shape}, one row per sample; it should have b's shape ({m},)", "db_not_summed")
    if isinstance(db, (float, np.floating)) or (type(db) is np.ndarray and db.ndim == 0):
        fail(f"db is one number; it should have b's shape ({m},): sum over the samples only (axis 0)",
             "db_not_summed")
    dx = expect_array(dx, "dx", shape=(n, d))
    dW = expect_array(dW, "dW", shape=(d, m))
    db = expect_array(db, "db", shape=(m,))
    ref_dx, ref_dW, ref_db = (_np(g) for g in ref.linear_backward(*first, dout))
    later_dx, later_dW, _ = (_np(g) for g in ref.linear_backward(*second, dout))
    _close(dx, ref_dx, "dx = dout @ W.T (compared with autograd)", rtol=1e-10, atol=1e-12,
           mistakes={"state_between_calls": later_dx}, otherwise=formula)
    _close(dW, ref_dW, "dW = x.T @ dout (compared with autograd)", rtol=1e-10, atol=1e-12,
           mistakes={"state_between_calls": later_dW}, otherwise=formula)
    _close(db, ref_db, "db (compared with autograd)", rtol=1e-10, atol=1e-12,
           mistakes={"db_averaged": ref_db / n, "db_not_summed": dout[0]}, otherwise=formula)


# ---------------------------------------------------------------- ReLU

def test_relu_matches_reference(student, rng):
    x = rng.normal(size=(6, 5))
    x[rng.uniform(size=x.shape) < 0.3] = 0.0  # exact zeros, where the derivative is taken to be 0
    x[0, 0], x[1, 1] = 0.0, -0.0
    dout = rng.normal(size=(6, 5))
    out, cache = expect_tuple(student.relu_forward(x.copy()), "relu_forward(x)", 2)
    out = expect_array(out, "out of relu_forward for x of shape (6, 5)", shape=(6, 5))
    # Documented equivalent (nnex validate): np.maximum(x, 0.0) -> np.maximum(0.0, x) differs only in
    # the sign of a zero (max(-0.0, 0.0) is -0.0, max(0.0, -0.0) is 0.0): both are the right 0.
    _close(out, _np(ref.relu_forward(x)), "relu_forward(x)", rtol=1e-12, atol=0, otherwise="relu_forward_formula")
    dx = expect_array(student.relu_backward(dout.copy(), cache), "relu_backward(dout, cache)", shape=(6, 5))
    _close(dx, _np(ref.relu_backward(x, dout)),
           f"relu_backward (x has {int(np.sum(x == 0))} entries exactly 0, where the gradient is 0)",
           rtol=1e-12, atol=0, mistakes={"relu_grad_at_zero": dout * (x >= 0)}, otherwise="relu_backward_mask")


# ---------------------------------------------------------------- the logistic loss

def test_bce_with_logits_matches_reference(student, rng):
    n = 11
    s = rng.normal(scale=3.0, size=n)
    s[:4] = rng.uniform(-1.0, 1.0, size=4)  # near 0 too, where a sigmoid's two branches meet
    y = (rng.uniform(size=n) < 0.5).astype(np.float64)
    loss, dlogits = expect_tuple(student.bce_with_logits(s.copy(), y.copy()), "bce_with_logits(logits, y)", 2)
    loss = expect_scalar(loss, "loss of bce_with_logits for logits of shape (11,)")
    dlogits = expect_array(dlogits, "dlogits", shape=(n,))
    ref_loss, ref_dlogits = (_np(v) for v in ref.bce_with_logits(s, y))
    _close(loss, ref_loss, "the mean logistic loss", rtol=1e-10, atol=1e-12,
           mistakes={"loss_sum_not_mean": ref_loss * n}, otherwise="loss_formula")
    _close(dlogits, ref_dlogits, "dlogits (compared with autograd)", rtol=1e-9, atol=1e-12,
           mistakes=[("dlogits_missing_1_over_n", ref_dlogits * n), ("dlogits_sign", -ref_dlogits)]
           + _sigmoid_side_mistakes(s, dlogits * n + y, lambda sigma: (sigma - y) / n), otherwise="dlogits_formula")


def test_bce_with_logits_extreme_logits(student, rng):
    s = np.array([1e4, -1e4, 1e4, -1e4, 1000.0, -1000.0, 745.0, -745.0, 40.0, -40.0, 0.0])
    s = s * rng.uniform(0.9, 1.0, size=s.size)
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0])
    try:
        with expect_no_warning("bce_with_logits for logits up to ±1e4"):
            result = student.bce_with_logits(s.copy(), y.copy())
    except CheckFailed as failure:  # an overflow, or log 0, is the unstable loss; 1 / 0 is a division by zero
        text = failure.detail
        fail(text, "loss_unstable" if "overflow" in text or " in log" in text
             else "division_by_zero" if "divide by zero" in text else None)
    loss, dlogits = expect_tuple(result, "bce_with_logits(logits, y)", 2)
    loss = expect_scalar(loss, "loss for logits up to ±1e4", finite=False)
    dlogits = expect_array(dlogits, "dlogits for logits up to ±1e4", shape=s.shape, finite=False)
    if not np.isfinite(loss) or not np.all(np.isfinite(dlogits)):
        fail(f"bce_with_logits gives nan or inf for logits up to ±1e4 (loss {loss})", "loss_unstable")
    ref_loss, ref_dlogits = (_np(v) for v in ref.bce_with_logits(s, y))
    if loss < 0.5 * ref_loss:
        # right for moderate logits and far too small for huge ones: the loss of each sample is capped
        moderate, labels = np.array([-3.0, -0.5, 0.7, 2.5]), np.array([1.0, 0.0, 0.0, 1.0])
        capped = _quietly(lambda: np.isclose(float(student.bce_with_logits(moderate.copy(), labels.copy())[0]),
                                             float(np.mean(np.logaddexp(0.0, moderate) - labels * moderate)),
                                             rtol=1e-9, atol=1e-12))
        fail(f"the loss is {loss:.6g}, far below the true {ref_loss:.6g}: a logit of about 1e4 on the wrong "
             "class should cost about 1e4", "loss_clipped" if capped else "loss_formula")
    _close(loss, ref_loss, "the mean loss for logits up to ±1e4", rtol=1e-10, atol=1e-12, otherwise="loss_formula")
    _close(dlogits, ref_dlogits, "dlogits for logits up to ±1e4", rtol=1e-9, atol=1e-14,
           mistakes=[("dlogits_missing_1_over_n", ref_dlogits * s.size)]
           + _sigmoid_side_mistakes(s, dlogits * s.size + y, lambda sigma: (sigma - y) / s.size),
           otherwise="dlogits_formula")


# ---------------------------------------------------------------- the network

ARCHITECTURES = [[5, 7, 3, 1], [4, 9, 1], [3, 6, 8, 5, 1]]


@pytest.mark.parametrize("sizes", ARCHITECTURES, ids=["two-hidden", "one-hidden", "three-hidden"])
def test_mlp_forward_matches_reference(student, rng, sizes):
    n = 9
    params, x = _random_params(rng, sizes), rng.normal(size=(n, sizes[0]))
    last = f"b{len(sizes) - 1}"
    params[last] = params[last] - np.median(_forward_numpy(params, x)[0])  # logits on both sides of 0
    logits, _ = expect_tuple(student.mlp_forward(_copy(params), x.copy()), "mlp_forward(params, x)", 2)
    if type(logits) is np.ndarray and logits.shape == (n, 1):
        fail(f"logits has shape {logits.shape}; it should be ({n},): take the output layer's single column")
    logits = expect_array(logits, f"logits of mlp_forward for layer sizes {sizes}", shape=(n,))
    expected = _np(ref.mlp_forward(params, x))
    _close(logits, expected, f"logits for layer sizes {sizes}", rtol=1e-10, atol=1e-12,
           mistakes={"relu_on_output": np.maximum(expected, 0.0)},
           otherwise="forward_chain" if _layers_right(student, rng) else None)


@pytest.mark.parametrize("sizes", ARCHITECTURES, ids=["two-hidden", "one-hidden", "three-hidden"])
def test_mlp_backward_matches_reference(student, rng, sizes):
    n = 8
    params, x = _random_params(rng, sizes), rng.normal(size=(n, sizes[0]))
    dlogits = rng.normal(size=n) / n
    _, caches = expect_tuple(student.mlp_forward(_copy(params), x.copy()), "mlp_forward(params, x)", 2)
    # where the layers and the forward pass are right, what goes wrong is mlp_backward's own chaining
    chain = "backward_chain" if _layers_right(student, rng) and _forward_right(student, params, x) else None
    grads = _param_dict(_backward_call(student, dlogits, caches, chain), _sizes_params(sizes),
                        "mlp_backward(dlogits, caches)")
    expected = {k: _np(v) for k, v in ref.mlp_backward(params, x, dlogits).items()}
    for name in sorted(params):
        mistakes = {"db_averaged": expected[name] / n} if name.startswith("b") else {}
        _close(grads[name], expected[name], f"grads[{name!r}] for layer sizes {sizes} (compared with "
               "autograd)", rtol=1e-9, atol=1e-12, mistakes=mistakes, otherwise=chain)


def _backward_call(student, dlogits, caches, chain):
    """student.mlp_backward(dlogits, caches); a ValueError it raises (not one of shapes) names ``chain``."""
    try:
        return student.mlp_backward(dlogits.copy(), caches)
    except Exception as error:
        text = str(error)
        if chain and type(error).__name__ == "StudentError" and " raised ValueError" in text.split(":")[0] \
                and not any(word in text for word in ("shape", "broadcast", "mismatch", "dimension", "aligned")):
            fail(text, chain)
        raise


def test_network_gradient_end_to_end(student, rng):
    sizes, n = [3, 8, 5, 1], 10
    params = _random_params(rng, sizes)
    params["b1"][:] = 0.0  # as after initialisation: the all-zero input below hits ReLU at exactly 0
    x = rng.normal(size=(n, 3))
    x[3] = 0.0
    y = (rng.uniform(size=n) < 0.5).astype(np.float64)
    logits, caches = expect_tuple(student.mlp_forward(_copy(params), x.copy()), "mlp_forward(params, x)", 2)
    logits = expect_array(logits, "logits", shape=(n,))
    loss, dlogits = expect_tuple(student.bce_with_logits(logits, y.copy()), "bce_with_logits(logits, y)", 2)
    grads = _param_dict(student.mlp_backward(expect_array(dlogits, "dlogits", shape=(n,)), caches),
                        _sizes_params(sizes), "mlp_backward(dlogits, caches)")
    ref_loss, ref_grads = ref.loss_and_grads(params, x, y)
    assert_close(expect_scalar(loss, "loss"), _np(ref_loss), "the loss of the network", rtol=1e-10, atol=1e-12)
    ref_dlogits = _np(ref.bce_with_logits(_np(ref.mlp_forward(params, x)), y)[1])
    at_zero = _backward_numpy(params, x, ref_dlogits, relu_grad_at_zero=1.0)
    for name in sorted(params):
        expected = _np(ref_grads[name])
        assert_close(grads[name], expected,
                     f"dL/d{name} through your loss and backward pass (compared with autograd)",
                     rtol=1e-9, atol=1e-12,
                     mistakes={"dlogits_missing_1_over_n": expected * n, "relu_grad_at_zero": at_zero[name]})


# ---------------------------------------------------------------- Adam

def _run_adam(student, params, grads_per_step, **hyper):
    """The student's Adam from state {} over the given gradients: the flattened params after each step."""
    state, current, history = {}, _copy(params), []
    shapes = {k: v.shape for k, v in params.items()}
    for step, grads in enumerate(grads_per_step, start=1):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = student.adam_step(_copy(current), _copy(grads), state, **hyper)
        new, state = expect_tuple(result, f"adam_step (step {step})", 2)
        if step == 1 and type(new) is dict and any(type(v) is np.ndarray and v.dtype.kind == "f"
                                                   and not np.all(np.isfinite(v)) for v in new.values()):
            # 1 - beta ** 0 = 0 divides by zero; a square root of a negative v is another mistake
            said = " ".join(str(w.message) for w in caught)
            fail("after the first adam_step from state {} the parameters contain nan or inf"
                 + (f" ({said[:200]})" if said else ""),
                 "adam_t_from_zero" if "divide" in said else "adam_formula" if said else None)
        current = _param_dict(new, shapes, f"the params after adam_step {step}")
        history.append(_flat(current))
    return np.array(history)


def _adam_problem(rng, steps):
    shapes = {"W1": (4, 3), "b1": (3,), "W2": (3, 1), "b2": (1,)}
    params = {k: rng.normal(size=s) for k, s in shapes.items()}
    grads = [{k: rng.normal(size=s) * rng.uniform(0.1, 2.0) for k, s in shapes.items()} for _ in range(steps)]
    return params, grads


def _torch_history(params, grads_per_step, **hyper):
    return np.array([_flat({k: _np(v) for k, v in step.items()})
                     for step in ref.adam_steps(params, grads_per_step, **hyper)])


def _adam_mistakes(params, grads, **hyper):
    """{mistake id: the parameters after each step that mistake gives}."""
    return {"adam_no_bias_correction": _adam_numpy(params, grads, **hyper, bias_correction=False),
            "adam_t_off_by_one": _adam_numpy(params, grads, **hyper, t_of_step=lambda k: k + 1),
            "adam_t_not_incremented": _adam_numpy(params, grads, **hyper, t_of_step=lambda k: 1),
            "adam_eps_inside_sqrt": _adam_numpy(params, grads, **hyper, eps_inside_sqrt=True)}


def test_adam_matches_torch_adam(student, rng):
    params, grads = _adam_problem(rng, steps=6)
    lr = 0.01
    history = _run_adam(student, params, grads, lr=lr)
    expected = _torch_history(params, grads, lr=lr)
    # (with eps = 1e-8, eps inside the root changes the steps by about 1e-8: too little to tell it from
    # other slight errors; the next test, with eps = 1e-3, names it)
    mistakes = {k: v for k, v in _adam_mistakes(params, grads, lr=lr).items() if k != "adam_eps_inside_sqrt"}
    _close(history, expected, "the parameters after each of 6 Adam steps (rows), compared with "
           "torch.optim.Adam", rtol=1e-9, atol=1e-12, mistakes=mistakes, otherwise="adam_formula", generic=False)


def test_adam_uses_its_hyperparameters(student, rng):
    params, grads = _adam_problem(rng, steps=4)
    grads = [{k: g * 1e-3 for k, g in step.items()} for step in grads]  # small gradients: eps matters
    hyper = {"lr": 0.05, "beta1": 0.8, "beta2": 0.99, "eps": 1e-3}
    history = _run_adam(student, params, grads, **hyper)
    expected = _torch_history(params, grads, **hyper)
    _close(history, expected, "the parameters after 4 Adam steps with lr=0.05, beta1=0.8, beta2=0.99, "
           "eps=1e-3, compared with torch.optim.Adam", rtol=1e-9, atol=1e-12,
           mistakes={**_adam_mistakes(params, grads, **hyper),
                     "adam_hyperparameters_ignored": _adam_numpy(params, grads, lr=0.05)},
           otherwise="adam_formula", generic=False)


# ---------------------------------------------------------------- training

MOONS = {"noise": 0.15, "n_train": 300, "n_test": 500}
TRAINED_LOSS = 0.3  # a trained network's mean training loss is below this (chance: log 2 = 0.69)
TRAINING = {"epochs": 30, "lr": 0.01, "batch_size": 32, "seed": 11}
SIZES = [2, 32, 32, 1]


@pytest.fixture(scope="module")
def moons_run(student):
    """One training run on the two moons, shared by the tests below: (data, params, losses)."""
    data_rng = np.random.default_rng(zlib.crc32(b"numpy_mlp moons"))
    x_train, y_train = make_moons(MOONS["n_train"], MOONS["noise"], data_rng)
    x_test, y_test = make_moons(MOONS["n_test"], MOONS["noise"], data_rng)
    # the same turn and label swap for both sets: a network fitted in advance to two moons fails
    turn = int(data_rng.integers(2**32))
    (x_train, y_train), (x_test, y_test) = (_disguised(x, y, np.random.default_rng(turn))
                                            for x, y in ((x_train, y_train), (x_test, y_test)))
    result = expect_tuple(student.train(x_train.copy(), y_train.copy(), list(SIZES), **TRAINING),
                          "train(x, y, [2, 32, 32, 1], epochs=30, lr=0.01, batch_size=32, seed=11)", 2)
    data = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return data, result[0], result[1]


def test_train_reaches_accuracy_on_held_out_points(moons_run, figures):
    data, params, losses = moons_run
    params = _param_dict(params, _sizes_params(SIZES), "the params returned by train")
    accuracy = ref.accuracy(params, data["x_test"], data["y_test"])  # the judge's own forward pass
    try:
        curve = _losses(losses, TRAINING["epochs"], "losses")
    except AssertionError:  # the losses are judged by the next test; the picture goes without them
        curve = None
    figures.add("moons", lambda: plot_classifier(lambda points: _np(ref.mlp_forward(params, points)),
                                                 data["x_test"], data["y_test"], curve,
                                                 title="Held-out points",
                                                 losses_title="Training loss per epoch, as train reported it"))
    if accuracy < 0.95:
        fail(f"the network returned by train classifies {accuracy:.1%} of {MOONS['n_test']} held-out points "
             "correctly; at least 95% is expected")


def test_train_losses_one_per_epoch_and_decreasing(moons_run):
    data, params, losses = moons_run
    epochs = TRAINING["epochs"]
    n_batches = -(-MOONS["n_train"] // TRAINING["batch_size"])
    if type(losses) in (list, tuple, np.ndarray) and len(losses) == epochs * n_batches != epochs:
        fail(f"train returned {len(losses)} losses, one per batch; it should return {epochs}, one per epoch",
             "losses_per_batch")
    losses = _losses(losses, epochs, "losses (one mean loss per epoch)")
    if not losses[-1] < 0.5 * losses[0] or not np.mean(losses[-5:]) < np.mean(losses[:5]):
        fail(f"the loss per epoch went from {losses[0]:.4g} to {losses[-1]:.4g}; it should fall clearly")
    params = _param_dict(params, _sizes_params(SIZES), "the params returned by train")
    final = _np(ref.bce_with_logits(ref.mlp_forward(params, data["x_train"]), data["y_train"])[0])
    # a falling history is worth something only beside a network that learnt: the judge's loss of it
    if not final < TRAINED_LOSS:
        fail(f"the training loss of the returned params is {final:.4g} (chance: log 2 = 0.693); a trained "
             f"network scores below {TRAINED_LOSS}: the returned params should be the trained ones")
    if not final < losses[0]:
        fail(f"the training loss of the returned params is {final:.4g}, not below the first epoch's "
             f"{losses[0]:.4g}: the returned params should be the trained ones")
    # the history must end where the returned network is (within a factor 4: the last epoch's mean
    # over its batches, taken while the weights still moved)
    if not final / 4 - 0.05 <= losses[-1] <= 4 * final + 0.05:
        fail(f"the last epoch's loss is {losses[-1]:.4g}, but the returned params have a training loss of "
             f"{final:.4g}: losses should be the mean training loss of each epoch of this run")


def test_train_is_reproducible_given_the_seed(student, rng):
    x, y = _disguised(*make_moons(128, 0.2, rng), rng)
    sizes, settings = [2, 16, 1], {"epochs": 20, "lr": 0.05, "batch_size": 16}
    shapes = _sizes_params(sizes)
    runs = [_param_dict(expect_tuple(student.train(x.copy(), y.copy(), list(sizes), **settings, seed=seed),
                                     f"train(..., seed={seed})", 2)[0], shapes, "the params returned by train")
            for seed in (5, 5, 6)]
    if not np.allclose(_flat(runs[0]), _flat(runs[1]), rtol=1e-12, atol=0):
        fail("two calls of train with the same seed gave different parameters", "global_rng")
    if np.allclose(_flat(runs[0]), _flat(runs[2]), rtol=1e-12, atol=0):
        fail("train with seeds 5 and 6 gave the same parameters: the seed should drive the initialisation "
             "and the shuffling", "global_rng")
    # reproducible randomness is worth something only from a training: each network must fit its
    # data roughly (these settings give about 94% or more; a random network rarely 85%, let alone two)
    for seed, params in ((5, runs[0]), (6, runs[2])):
        accuracy = ref.accuracy(params, x, y)
        if accuracy < 0.85:
            fail(f"train is reproducible, but the network it returns for seed {seed} classifies {accuracy:.1%} "
                 f"of its {len(y)} training points correctly, where training with these settings gives "
                 "at least 85%: this test pays only for a network that was trained")


# How train walks through the data, judged by what the walk does (no replay of a random stream).
RESHUFFLED = {"n": 24, "sizes": [2, 8, 1], "epochs": 400, "lr": 0.1, "batch_size": 5}
# the median change of the epoch loss over the last 40 epochs, relative to their mean, below which the
# batches repeat: with a new permutation every epoch it was at least 7.5e-4 for each of 240 seeds and
# inputs; with the same batches every epoch (a permutation drawn once, or none) at most 2e-6
SAME_BATCHES = 2e-5


def test_train_reshuffles_every_epoch(student, rng):
    # Every input is the same point and the labels are sorted by class, so the network can only learn
    # the share of 1s, and each step moves its one output by the share of 1s in that batch. With the
    # batches drawn anew every epoch, the steps, and each epoch's mean loss, differ from epoch to
    # epoch; the same batches every epoch repeat the same steps, and the last epochs' losses settle.
    settings, n = RESHUFFLED, RESHUFFLED["n"]
    x = np.tile(rng.normal(size=(1, 2)), (n, 1))
    y = (np.arange(n) >= n // 2).astype(np.float64)
    seed = int(rng.integers(2**31))
    result = expect_tuple(student.train(x.copy(), y.copy(), list(settings["sizes"]), epochs=settings["epochs"],
                                        lr=settings["lr"], batch_size=settings["batch_size"], seed=seed),
                          f"train(x, y, {settings['sizes']}, epochs={settings['epochs']}, lr={settings['lr']}, "
                          f"batch_size={settings['batch_size']}, seed={seed})", 2)
    losses = _losses(result[1], settings["epochs"], "losses")
    tail = losses[-40:]
    # how the batches fall is worth judging only in a training that works: the network learnt the share
    # of 1s (its logit is near 0; at most 0.09 in calibration, whatever the batches) and the losses are
    # those of such a network (about log 2; within 0.015 in calibration)
    params = _param_dict(result[0], _sizes_params(settings["sizes"]), "the params returned by train")
    logit = float(_forward_numpy(params, x[:1])[0][0])
    if abs(logit) > 0.3 or not np.all(np.abs(tail - np.log(2.0)) < 0.05):
        fail(f"the trained network's logit is {logit:.3g} and the last epochs' losses lie between {tail.min():.4g} "
             f"and {tail.max():.4g}, where training on half 0s and half 1s gives a logit near 0 and losses near "
             "log 2 = 0.693: this test, of how train walks through the data, pays only for a train that trains")
    change = float(np.median(np.abs(np.diff(tail)))) / float(np.mean(tail))
    if change < SAME_BATCHES:
        # a network that does not move at all (its output stuck, say) gives the same loss every epoch too,
        # and one whose steps are tiny (an Adam that is wrong, say) changes little: only losses that still
        # move, from steps of the right size, show the same batches repeated
        moving = np.ptp(tail) > 1e-12 and _steps_right(student, rng)
        fail(f"on {n} samples with the labels sorted by class, the mean loss of the last 40 epochs changes by a "
             f"median {change:.2g} of itself from one epoch to the next (about 2e-3 when each epoch draws its own "
             "batches): " + ("every epoch goes through the same batches" if moving else
                             "the network does not move at all, so this test cannot tell how train walks through "
                             "the data"), "same_batches_every_epoch" if moving else None)


def _steps_right(student, rng):
    """Whether the student's training step is right: the layers, the loss's gradient and two Adam steps
    (quietly; each is judged by its own tests)."""
    params, grads = _adam_problem(rng, steps=2)
    s, y = rng.normal(size=5), (rng.uniform(size=5) < 0.5).astype(np.float64)

    def adam_and_loss_right():
        history = _run_adam(student, params, grads, lr=0.1)
        dlogits = student.bce_with_logits(s.copy(), y.copy())[1]
        return bool(np.allclose(history, _adam_numpy(params, grads, lr=0.1), rtol=1e-7, atol=1e-10)) \
            and _same(dlogits, (1.0 / (1.0 + np.exp(-s)) - y) / 5)
    return _layers_right(student, rng) and _quietly(adam_and_loss_right)


def _train_wiring_losses(params, x, y):
    """(train_wiring, the mean loss) that a training loop wired wrongly records with lr = 0: inputs and
    labels one index apart (x[batch - 1] or y[batch - 1]), or bce_with_logits(y, logits)."""
    logits = _forward_numpy(params, x)[0]
    shifted = _forward_numpy(params, np.roll(x, 1, axis=0))[0]

    def mean_loss(s, labels):
        return float(np.mean(np.logaddexp(0.0, s) - labels * s))
    return [("train_wiring", mean_loss(shifted, y)), ("train_wiring", mean_loss(logits, np.roll(y, 1))),
            ("train_wiring", mean_loss(y, logits))]


def test_train_epoch_loss_is_the_mean_over_the_samples(student, rng, moons_run):
    # With lr = 0 Adam does not move the parameters: every epoch sees the network train returns, and
    # its loss is that network's mean loss over all the samples, however the batches fall (37 samples
    # in batches of 8: the last one has 5, so the batches' mean losses must be weighted by their sizes).
    # The weights are many enough (304) for the check that they look like an initialisation.
    n, sizes, epochs = 37, [2, 16, 16, 1], 3
    x, y = rng.normal(size=(n, 2)), (rng.uniform(size=n) < 0.5).astype(np.float64)
    seed = int(rng.integers(2**31))
    result = expect_tuple(student.train(x.copy(), y.copy(), list(sizes), epochs=epochs, lr=0.0, batch_size=8,
                                        seed=seed), f"train(x, y, {sizes}, epochs={epochs}, lr=0.0, batch_size=8)", 2)
    losses = _losses(result[1], epochs, "losses")
    params = _param_dict(result[0], _sizes_params(sizes), "the params returned by train")
    probe = _random_params(rng, sizes)
    still = _quietly(lambda: all(np.array_equal(v, probe[k]) for k, v in
                                 student.adam_step(_copy(probe), _copy(probe), {}, 0.0)[0].items()))
    if not still:
        fail("adam_step with lr = 0 moves the parameters (or fails); the update is lr * m̂ / (√v̂ + ε), zero for "
             "lr = 0, and this test of train needs it", "adam_formula")
    # the comparison is with what the student's own init_params makes
    try:
        own_init = student.init_params(list(sizes), np.random.default_rng(seed))
    except Exception:
        own_init = None
    own_init = own_init if type(own_init) is dict else None
    zero_biases = own_init is not None and all(np.all(np.asarray(v) == 0) for k, v in own_init.items()
                                               if k.startswith("b"))
    looks = own_init is not None and _quietly(lambda: _looks_initialised(own_init, sizes) is None)
    if (zero_biases and any(np.any(params[k] != 0) for k in params if k.startswith("b"))) \
            or (looks and _looks_initialised(params, sizes)):
        fail("with lr = 0 Adam leaves every parameter where it is, so train should return its initial network "
             "(weights like an initialisation, biases 0); it returned other parameters", "train_wiring")
    # the expected loss by the student's own forward pass and loss (which train uses), else by the judge's
    judged = expected = float(_np(ref.bce_with_logits(ref.mlp_forward(params, x), y)[0]))
    try:
        own = float(student.bce_with_logits(np.asarray(student.mlp_forward(_copy(params), x.copy())[0],
                                                       dtype=np.float64), y.copy())[0])
        expected = own if np.isfinite(own) else expected
    except Exception:
        pass
    # where the student's own loss of the network is wrong, a wrong record may come from it: no name then
    own_right = bool(np.isclose(expected, judged, rtol=1e-9, atol=1e-12))
    _close(losses, np.full(epochs, expected), f"the losses of {epochs} epochs with lr = 0 (nothing moves, so each is "
           f"the mean loss of the returned network over the {n} samples)", rtol=1e-9, atol=1e-12,
           mistakes=[(m, np.full(epochs, v)) for m, v in _train_wiring_losses(params, x, y)] if own_right else None,
           otherwise="epoch_loss_definition" if own_right else None, generic=False)
    # recording the loss right is worth something only in a train that trains
    data, trained, _ = moons_run
    trained = _param_dict(trained, _sizes_params(SIZES), "the params returned by train")
    if ref.accuracy(trained, data["x_train"], data["y_train"]) < 0.85:
        fail("the epoch losses are right, but the network train returns for the two moons classifies less than 85% "
             "of its own training points: this test pays only for a train that trains")


def test_predict_matches_reference(student, rng):
    sizes, n = [3, 6, 1], 40
    params, x = _random_params(rng, sizes), rng.normal(size=(n, 3))
    logits = _np(ref.mlp_forward(params, x))
    params["b2"] -= np.median(logits) - 0.1  # logits on both sides of 0, many of them between 0 and 0.5
    labels = expect_array(student.predict(_copy(params), x.copy()), f"predict(params, x) for x of shape {x.shape}",
                          shape=(n,), kinds="biuf")
    if not np.all((labels == 0) | (labels == 1)):
        fail("predict should return only 0 and 1 (or False and True)")
    shifted = _np(ref.mlp_forward(params, x))
    # with the student's own forward pass right, wrong labels come from predict's threshold
    _close(labels.astype(np.float64), _np(ref.predict(params, x)), "predict: 1 where the logit is > 0",
           rtol=0, atol=0, mistakes={"predict_threshold": (shifted > 0.5).astype(np.float64)},
           otherwise="predict_threshold" if _forward_right(student, params, x) else None)
