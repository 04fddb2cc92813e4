"""Checks shared by the public and the hidden tests.

Every test receives a ``student`` object and calls the student's functions on it. When a student
runs ``pytest`` in an exercise folder, ``student`` is their module imported in-process; when the
grader runs the same tests, it is a proxy whose calls run in a sandboxed child process and whose
results arrive as plain data. The checks below work the same way on both.

A check either returns the value it was given (so that a test can go on with it) or raises
``CheckFailed``: an AssertionError whose message says what was wrong, and, when the wrong value
matches a known mistake, carries that mistake's id in ``.mistake``. The grader replaces the id
with the hint from the exercise's manifest.
"""
from __future__ import annotations

import copy
import importlib
import re
import warnings
from contextlib import contextmanager

import numpy as np

NUMERIC_KINDS = "biuf"


class CheckFailed(AssertionError):
    """A check that failed; ``mistake`` names a catalogued mistake when one was recognised."""

    def __init__(self, message: str, mistake: str | None = None):
        super().__init__(message if mistake is None else f"{message} [mistake: {mistake}]")
        self.detail, self.mistake = message, mistake


def describe(value) -> str:
    """A short description of a value's type, for messages."""
    opaque = getattr(value, "nnex_type", None)  # values the grader could not bring back
    if opaque == "numpy.ndarray":  # of the plain arrays, only one of Python objects stays in the sandbox
        return "an ndarray of dtype object"
    if isinstance(opaque, str):
        return f"an object of type {opaque[:200]}"
    if type(value) is np.ndarray:
        return f"an ndarray of dtype {value.dtype} and shape {value.shape}"
    return f"a value of type {type(value).__module__}.{type(value).__qualname__}"


def expect_array(value, name: str, shape: tuple | None = None, kinds: str = "f",
                 finite: bool = True) -> np.ndarray:
    """``value`` must be a plain ndarray (not a subclass) of dtype kind in ``kinds`` and ``shape``.

    kinds: NumPy dtype kinds accepted ("f" float, "i"/"u" integer, "b" bool).
    Returns the array as float64 when kinds admits floats, else unchanged.
    """
    __tracebackhide__ = True  # a failure points at the test's line, not into this check
    if getattr(value, "nnex_type", None) == "numpy.ndarray" or (type(value) is np.ndarray and value.dtype == object):
        raise CheckFailed(f"{name} is an ndarray of dtype object (Python objects, not numbers); it should hold "
                          f"numbers: {'float64' if 'f' in kinds else 'integers or booleans'}")
    if type(value) is not np.ndarray:
        raise CheckFailed(f"{name} should be a NumPy ndarray, got {describe(value)}")
    if value.dtype.kind not in kinds:
        raise CheckFailed(f"{name} has dtype {value.dtype}; expected kind {'/'.join(kinds)}")
    if shape is not None and value.shape != tuple(shape):
        raise CheckFailed(f"{name} has shape {value.shape}; expected {tuple(shape)}", _shape_mistake(value.shape, shape))
    if finite and value.dtype.kind in "fc" and not np.all(np.isfinite(value)):
        raise CheckFailed(f"{name} contains nan or inf", "nan_or_inf")
    return value.astype(np.float64) if "f" in kinds and value.dtype.kind in "biuf" else value


def _shape_mistake(got: tuple, wanted: tuple) -> str:
    """The mistake a wrong shape shows: the transpose, or a shape wrong some other way."""
    return "transposed" if len(got) == 2 and tuple(got) == tuple(wanted)[::-1] else "wrong_shape"


def expect_scalar(value, name: str, finite: bool = True) -> float:
    """``value`` must be a real number: a Python int/float, a NumPy scalar or a 0-d float array."""
    __tracebackhide__ = True  # a failure points at the test's line, not into this check
    if type(value) is bool or isinstance(value, np.bool_):
        raise CheckFailed(f"{name} should be a number, got a bool")
    if type(value) in (int, float) or (isinstance(value, np.generic) and value.dtype.kind in "iuf"):
        number = float(value)
    elif type(value) is np.ndarray and value.shape == () and value.dtype.kind in "iuf":
        number = float(value)
    else:
        raise CheckFailed(f"{name} should be a number, got {describe(value)}",
                          "wrong_shape" if type(value) is np.ndarray and value.dtype.kind in "iuf" else None)
    if finite and not np.isfinite(number):
        raise CheckFailed(f"{name} is {number}; expected a finite number", "nan_or_inf")
    return number


def expect_tuple(value, name: str, length: int) -> tuple:
    """``value`` must be a tuple (or list) of ``length`` items."""
    __tracebackhide__ = True  # a failure points at the test's line, not into this check
    if type(value) not in (tuple, list) or len(value) != length:
        raise CheckFailed(f"{name} should be a tuple of {length} values, got {describe(value)}")
    return tuple(value)


def expect_tensor(value, name: str, like, shape: tuple | None = None, finite: bool = True):
    """``value`` must be a plain torch.Tensor with the dtype and device of the tensor ``like``."""
    __tracebackhide__ = True  # a failure points at the test's line, not into this check
    import torch

    if type(value) is not torch.Tensor:
        raise CheckFailed(f"{name} should be a torch.Tensor, got {describe(value)}")
    if value.dtype != like.dtype:
        raise CheckFailed(f"{name} has dtype {value.dtype}; it should keep the input's {like.dtype}")
    if value.device != like.device:
        raise CheckFailed(f"{name} is on {value.device}; it should stay on the input's {like.device}")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise CheckFailed(f"{name} has shape {tuple(value.shape)}; expected {tuple(shape)}",
                          _shape_mistake(tuple(value.shape), shape))
    if finite and value.is_floating_point() and not bool(torch.isfinite(value).all()):
        raise CheckFailed(f"{name} contains nan or inf", "nan_or_inf")
    return value


def _as_numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        return value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=np.float64)


def relative_error(actual, expected) -> float:
    """max |actual - expected| / max(|expected|, tiny): one number that ignores the scale."""
    actual, expected = _as_numpy(actual), _as_numpy(expected)
    return float(np.max(np.abs(actual - expected), initial=0.0)
                 / max(float(np.max(np.abs(expected), initial=0.0)), 1e-12))


def assert_close(actual, expected, name: str, rtol: float = 1e-6, atol: float = 1e-9,
                 mistakes: dict | None = None) -> None:
    """``actual`` must equal ``expected`` within tolerance (both already checked for shape).

    mistakes: {mistake id: the value that mistake would give}, or (id, value) pairs where one
    mistake has several forms. When ``actual`` is far from ``expected`` but close to one of these
    (that differs from ``expected``), the failure names that mistake, and still says by how much it
    is wrong.
    """
    __tracebackhide__ = True  # a failure points at the test's line, not into this check
    a, e = _as_numpy(actual), _as_numpy(expected)
    if a.shape != e.shape:
        raise CheckFailed(f"{name} has shape {a.shape}; expected {e.shape}")
    if np.allclose(a, e, rtol=rtol, atol=atol):
        return
    pairs = mistakes.items() if isinstance(mistakes, dict) else mistakes or ()
    recognised = next((mistake for mistake, wrong in pairs
                       if _as_numpy(wrong).shape == a.shape and not np.allclose(_as_numpy(wrong), e, rtol=rtol, atol=atol)
                       and np.allclose(a, _as_numpy(wrong), rtol=max(rtol, 1e-6), atol=atol)), None)
    relation = None if recognised else relation_to(a, e, rtol, atol)
    worst = np.unravel_index(np.argmax(np.abs(a - e)), a.shape) if a.ndim else ()
    raise CheckFailed(
        f"{name} is wrong: relative error {relative_error(a, e):.3g}"
        + (f"; at index {tuple(int(i) for i in worst)} got {a[worst]:.6g}, expected {e[worst]:.6g}"
           if a.ndim else f"; got {float(a):.6g}, expected {float(e):.6g}")
        + (f"; {relation[1]}" if relation else ""), recognised or (relation[0] if relation else None))


def _simple(c: float) -> bool:
    """A factor a formula could have picked up: ±n or ±1/n for a small whole n."""
    return any(np.isclose(abs(c), v, rtol=1e-6) for n in range(2, 1025) for v in (n, 1 / n))


def relation_to(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> tuple[str, str] | None:
    """How a wrong value relates to the right one, where it does in a way every exercise can have:
    (mistake id of grader/manifests/common/mistakes.yaml, words for the message), or None."""
    a, e = actual, expected
    if a.shape != e.shape or a.size == 0 or not (np.all(np.isfinite(a)) and np.all(np.isfinite(e))):
        return None
    close = {"rtol": max(rtol, 1e-6), "atol": atol}
    if np.any(e != 0) and np.allclose(a, -e, **close):
        return "sign_error", "it is the right value with the opposite sign"
    norm = float(np.sum(e * e))
    factor = float(np.sum(a * e)) / norm if norm > 0 else 0.0
    if factor != 0 and np.isfinite(factor) and not np.isclose(factor, 1.0, rtol=1e-3) \
            and (a.size > 1 or _simple(factor)) and np.allclose(a, factor * e, **close):
        return "scale_error", f"it is the right value times {factor:.4g}"
    if a.ndim >= 2 and a.shape[-1] == a.shape[-2] and np.allclose(a, np.swapaxes(e, -1, -2), **close):
        return "transposed", "it is the transpose of the right value"
    offset = float(np.mean(a - e))
    if a.size > 1 and np.allclose(a, e + offset, **close):
        return "offset_error", f"it is the right value plus {offset:.4g} everywhere"
    if a.size > 1 and np.allclose(np.sort(a, axis=None), np.sort(e, axis=None), **close):
        return "misplaced", "it holds the right values, in the wrong places"
    return None


def fail(message: str, mistake: str | None = None):
    """Fail the current test with ``message``, naming ``mistake`` when it is known."""
    __tracebackhide__ = True  # a failure points at the test's line, not into this check
    raise CheckFailed(message, mistake)


@contextmanager
def expect_no_warning(name: str, mistake: str | None = None):
    """The calls inside the block must raise no warning (the grader relays the child's warnings)."""
    __tracebackhide__ = True  # a failure points at the test's line, not into this check
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    if caught:
        first = caught[0]
        raise CheckFailed(f"{name} raised {first.category.__name__}: {first.message}", mistake)


@contextmanager
def expect_raises(exception: type, name: str, mistake: str | None = None):
    """The call inside the block must raise ``exception`` (or a subclass, in-process).

    In the grader the student's exception arrives as the proxy's error, whose message begins
    "<function> raised <type name>: ...": there the type's name must match.
    """
    __tracebackhide__ = True  # a failure points at the test's line, not into this check
    try:
        yield
    except exception:
        return
    except Exception as error:  # the wrong exception, or one relayed from the sandbox
        relayed = re.match(r"\w+ raised (\w+)", str(error)) if type(error).__name__ == "StudentError" else None
        if relayed and relayed.group(1) == exception.__name__:
            return
        what = f"raised {relayed.group(1)}" if relayed else f"failed ({type(error).__name__}: {error})"
        raise CheckFailed(f"{name} {what} instead of raising {exception.__name__}", mistake) from None
    raise CheckFailed(f"{name} raised no {exception.__name__}", mistake)


def call_with_arguments(function, *args, **kwargs):
    """``function(*args, **kwargs)`` on copies of the arguments: (result, args, kwargs) after the call.

    The grader gives the student's code copies of everything, so a change it makes to an argument
    (an array changed in place, a random generator that advanced) never reaches the test's own
    objects. A test that wants to see such a change asks for the arguments as they are after the
    call: new objects, which it may compare with its own or pass to the next call.
    """
    inspect = getattr(function, "nnex_call_with_arguments", None)  # the grader's sandboxed function
    if inspect is not None:
        return inspect(*args, **kwargs)
    args, kwargs = copy.deepcopy((args, kwargs))
    return function(*args, **kwargs), args, kwargs


def in_a_fresh_process(student):
    """``student`` with nothing left of earlier calls: in the grader, a new sandboxed child.

    For outcomes that must come from this call alone (a model trained now, not one kept from an
    earlier call). In a self-check it is the module itself.
    """
    fresh = getattr(type(student), "nnex_fresh", None)
    return student.nnex_fresh() if fresh is not None else student


class FixtureRef:
    """A callable or object built from the exercise's public support module, by name.

    ``FixtureRef("neuron_support:neuron_loss", x=x, y=y)`` stands for
    ``neuron_support.neuron_loss(x=x, y=y)``. In-process it builds the object on first use and
    behaves like it; in the grader it crosses to the sandbox as its name and plain arguments, and
    the child builds it there from its own copy of the support module. Nothing callable crosses.
    """

    def __init__(self, target: str, **kwargs):
        module, _, attribute = target.partition(":")
        if not module or not attribute:
            raise ValueError(f"fixture target {target!r} should read 'module:attribute'")
        self.target, self.kwargs, self._built = target, kwargs, None

    def build(self):
        if self._built is None:
            module, _, attribute = self.target.partition(":")
            self._built = getattr(importlib.import_module(module), attribute)(**self.kwargs)
        return self._built

    def __call__(self, *args, **kwargs):
        return self.build()(*args, **kwargs)

    def __getattr__(self, name):
        if name.startswith("_") or name in ("target", "kwargs"):
            raise AttributeError(name)
        return getattr(self.build(), name)

    def __repr__(self):
        return f"FixtureRef({self.target!r})"
