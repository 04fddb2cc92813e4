"""Public tests for exercise 03 (dead_relu).

Run them from this folder with ``pytest``. They check small hand-made cases (and fresh random ones
beside them, so that no fixed answer passes) and train the network once with each of your configs
(seed 0). The grader runs these and further hidden tests on fresh inputs and with seeds of its
own, so passing here is a good sign, not a guarantee.
"""
import numpy as np

from dead_relu_support import LEAKY_SLOPE, accuracy, check_config, load_data, train_relu_net
from nnex_check import CheckFailed, assert_close, expect_array, expect_scalar, expect_tuple, fail

STUDENT_MODULE = "dead_relu"


def _mask(value, name, units):
    """A mask of shape (units,) as bool: bool, integer or float 0/1 entries are accepted."""
    if isinstance(value, (bool, np.bool_, np.number)) or (type(value) is np.ndarray and value.ndim == 0):
        fail(f"{name} is one value ({value!r}); it should have shape ({units},), one entry per unit: "
             "reduce over the inputs only (axis 0)", "wrong_shape")
    mask = expect_array(value, name, shape=(units,), kinds="biuf")
    if not np.all((mask == 0) | (mask == 1)):
        fail(f"{name} should hold only True/False (or 0/1)")
    return mask.astype(bool)


def _fractions(value, name, layers):
    """A list (or tuple, or 1-D array) of `layers` numbers, as a float64 array."""
    if type(value) in (list, tuple):
        value = np.array([expect_scalar(v, f"{name}[{i}]") for i, v in enumerate(value)])
    if type(value) is np.ndarray and value.shape == (layers + 1,):
        fail(f"{name} has {layers + 1} entries for a network with {layers} hidden layers", "output_layer_counted")
    return expect_array(value, name, shape=(layers,))


def _backward_slopes(x, dout, alpha):
    """(leaky_backward_slope, dx) for the wrong slopes that mistake takes."""
    positive = x > 0
    return [("leaky_backward_slope", dout * positive),
            ("leaky_backward_slope", dout * np.where(positive, 1.0, alpha * x)),
            ("leaky_backward_slope", dout * np.where(positive, 1.0, -alpha)),
            ("leaky_backward_slope", dout * np.where(positive, alpha, 1.0)),
            ("leaky_backward_slope", np.where(positive, dout, alpha)),
            ("alpha_not_cached", dout * np.where(positive, 1.0, 0.01))]


def _close_fractions(fractions, expected, name, mistakes=None):
    """assert_close for dead fractions, naming only the mistakes given: a factor or an offset between
    two short lists of fractions says nothing about why they differ."""
    try:
        assert_close(fractions, expected, name, mistakes=mistakes)
    except CheckFailed as failure:
        if failure.mistake is None or failure.mistake in (mistakes or {}):
            raise
        fail(failure.detail)


def _mask_right(student, pre_activations):
    """Whether your dead_unit_mask is right on each of these (N, H) arrays (quietly)."""
    try:
        return all(np.array_equal(np.asarray(student.dead_unit_mask(z.copy())).astype(bool), np.all(z <= 0, axis=0))
                   for z in pre_activations)
    except Exception:
        return False


def _dead_fractions(params, x, activation):
    """The tests' own dead fraction per hidden layer (not your code)."""
    slope = 0.0 if activation == "relu" else LEAKY_SLOPE
    h, fractions = x, []
    for layer in range(1, len(params) // 2):
        z = h @ params[f"W{layer}"] + params[f"b{layer}"]
        fractions.append(float(np.mean(np.all(z <= 0, axis=0))))
        h = np.maximum(z, slope * z)
    return fractions


def _train(student_config, name, seed=0):
    """Check a config and train with it: (settings, params, x_train, x_val, y_val)."""
    try:
        settings = check_config(student_config)
    except ValueError as error:
        fail(f"{name} is not a valid config: {error}", "config_invalid")
    x_train, y_train, x_val, y_val = load_data()
    try:
        params, _ = train_relu_net(x_train, y_train, **settings, seed=seed)
    except FloatingPointError as error:
        fail(f"training with {name} diverged: {error}", "config_diverges")
    return settings, params, x_train, x_val, y_val


def test_dead_unit_mask_small_example(student, rng):
    z = np.array([[-1.0, 0.0, -2.0, 3.0],
                  [-0.5, 0.0, -1.0, 1.0],
                  [-2.0, 0.0, -0.5, -1.0],
                  [-0.1, 0.0, 0.0, 2.0],
                  [-3.0, 0.0, 0.5, 0.5]])
    # unit 0: always negative; unit 1: always exactly 0; unit 2: fires on the last input only;
    # unit 3: fires on most inputs
    mask = _mask(student.dead_unit_mask(z.copy()), "dead_unit_mask(z) for z of shape (5, 4)", 4)
    assert_close(mask, [True, True, False, False], "dead_unit_mask(z) (True = dead)",
                 mistakes={"zero_counts_as_firing": [True, False, False, False],
                           "any_instead_of_all": [True, True, True, True],
                           "mask_inverted": [False, False, True, True]})
    z = rng.normal(size=(20, 9))  # and fresh values, which no fixed answer fits
    units = rng.permutation(9)
    z[:, units[:4]] = -np.abs(z[:, units[:4]])       # units 0-2 never fire: dead
    z[rng.integers(20), units[2]] = 0.0               # (0 is not firing)
    z[rng.integers(20), units[3]] = 0.5               # unit 3 fires for one input: alive
    mask = _mask(student.dead_unit_mask(z.copy()), "dead_unit_mask(z) for z of shape (20, 9)", 9)
    assert_close(mask, np.all(z <= 0, axis=0), "dead_unit_mask(z) for random z of shape (20, 9) (True = dead)",
                 mistakes={"zero_counts_as_firing": np.all(z < 0, axis=0),
                           "any_instead_of_all": np.any(z <= 0, axis=0),
                           "mask_inverted": ~np.all(z <= 0, axis=0)})


def test_dead_fraction_small_network(student, rng):
    x = np.array([[1.0, 2.0], [2.0, -1.0], [-1.0, 1.0], [3.0, 3.0]])
    params = {
        # layer 1: unit 0 fires for every input, unit 1 never (bias -10), unit 2 is exactly 0 for
        # every input, unit 3 fires for the last input only
        "W1": np.array([[1.0, 1.0, 0.0, 1.0], [0.0, 1.0, 0.0, 1.0]]),
        "b1": np.array([2.0, -10.0, 0.0, -4.0]),
        # layer 2: unit 0 listens to the dead units 1 and 2 only, so it is 0 everywhere: dead;
        # unit 1 listens to units 0 and 3 and fires for every input
        "W2": np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
        "b2": np.array([0.0, 0.0]),
        "W3": np.array([[1.0], [-1.0]]),
        "b3": np.array([0.5]),
    }
    result = student.dead_fraction({k: v.copy() for k, v in params.items()}, x.copy())
    fractions = _fractions(result, "dead_fraction(params, x) for a network with 2 hidden layers", 2)
    # a wrong dead_unit_mask makes dead_fraction wrong too (its own test says why): the mistakes below
    # are named only where your dead_unit_mask is right on these layers
    z1 = x @ params["W1"] + params["b1"]
    z2 = np.maximum(z1, 0.0) @ params["W2"] + params["b2"]
    own_mask_right = _mask_right(student, (z1, z2))
    _close_fractions(fractions, [0.5, 0.5], "dead_fraction(params, x)",
                     {"sparsity_instead_of_dead": [11 / 16, 1 / 2], "any_instead_of_all": [0.75, 0.5]}
                     if own_mask_right else None)
    # and a random network whose negative biases kill some units, which no fixed answer fits
    sizes = (2, 10, 8, 6, 1)
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{layer}"] = rng.normal(size=(fan_in, fan_out))
        params[f"b{layer}"] = rng.normal(size=fan_out) - 1.5
    x = rng.normal(size=(50, 2))
    result = student.dead_fraction({k: v.copy() for k, v in params.items()}, x.copy())
    fractions = _fractions(result, "dead_fraction(params, x) for a network with 3 hidden layers", 3)
    _close_fractions(fractions, _dead_fractions(params, x, "relu"), "dead_fraction(params, x) for a random network")


def test_leaky_relu_forward_known_values(student, rng):
    x = np.array([[-2.0, -0.5, 0.0], [0.5, 3.0, -10.0]])
    result = expect_tuple(student.leaky_relu_forward(x.copy(), 0.1), "leaky_relu_forward(x, 0.1)", 2)
    out = expect_array(result[0], "out of leaky_relu_forward(x, 0.1) for x of shape (2, 3)", shape=(2, 3))
    assert_close(out, [[-0.2, -0.05, 0.0], [0.5, 3.0, -1.0]], "leaky_relu_forward(x, 0.1)",
                 mistakes={"leaky_forward": np.where(x > 0, x, 0.01 * x)})
    x, alpha = rng.normal(size=(3, 4)), 0.2  # and fresh values, which no fixed answer fits
    result = expect_tuple(student.leaky_relu_forward(x.copy(), alpha), "leaky_relu_forward(x, 0.2)", 2)
    out = expect_array(result[0], "out of leaky_relu_forward(x, 0.2) for x of shape (3, 4)", shape=(3, 4))
    assert_close(out, np.where(x > 0, x, alpha * x), "leaky_relu_forward(x, 0.2) for random x of shape (3, 4)",
                 mistakes={"leaky_forward": np.where(x > 0, x, 0.01 * x)})


def test_leaky_relu_backward_known_values(student, rng):
    # (at exactly x = 0 the slope is alpha, as the README says; the grader checks that once, apart)
    x = np.array([-2.0, -0.5, 0.25, 0.5, 3.0])
    dout = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    result = expect_tuple(student.leaky_relu_forward(x.copy(), 0.1), "leaky_relu_forward(x, 0.1)", 2)
    dx = expect_array(student.leaky_relu_backward(dout.copy(), result[1]),
                      "leaky_relu_backward(dout, cache) for x of shape (5,)", shape=(5,))
    assert_close(dx, [0.1, 0.2, 3.0, 4.0, 5.0], "leaky_relu_backward(dout, cache) with alpha = 0.1 at "
                 "x = [-2, -0.5, 0.25, 0.5, 3]",
                 mistakes=_backward_slopes(x, dout, 0.1))
    x, dout, alpha = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), 0.2  # fresh values too
    result = expect_tuple(student.leaky_relu_forward(x.copy(), alpha), "leaky_relu_forward(x, 0.2)", 2)
    dx = expect_array(student.leaky_relu_backward(dout.copy(), result[1]),
                      "leaky_relu_backward(dout, cache) for x of shape (3, 4)", shape=(3, 4))
    assert_close(dx, dout * np.where(x > 0, 1.0, alpha),
                 "leaky_relu_backward(dout, cache) with alpha = 0.2 for random x of shape (3, 4)",
                 mistakes=_backward_slopes(x, dout, alpha))


def test_dying_config_kills_the_first_layer_seed_0(student):
    settings, params, x_train, _, _ = _train(student.dying_config(), "dying_config()")
    fractions = _dead_fractions(params, x_train, settings["activation"])
    if fractions[0] < 0.5:
        fail(f"with dying_config() and seed 0, {fractions[0]:.0%} of the first hidden layer is "
             "dead; at least 50% should be", "dying_not_dead")


def test_healthy_config_is_healthy_seed_0(student):
    settings, params, x_train, x_val, y_val = _train(student.healthy_config(), "healthy_config()")
    fractions = _dead_fractions(params, x_train, settings["activation"])
    if max(fractions) > 0.05:
        fail(f"with healthy_config() and seed 0 the dead fractions of the hidden layers are "
             f"{np.round(fractions, 3).tolist()}; each should be at most 0.05", "healthy_units_dead")
    val_accuracy = accuracy(params, x_val, y_val, settings["activation"])
    if val_accuracy < 0.9:
        fail(f"with healthy_config() and seed 0 the validation accuracy is {val_accuracy:.1%}; "
             "it should be at least 90%", "healthy_underfits")
