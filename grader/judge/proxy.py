"""The ``student`` object of the grader: the student's functions, run in a sandboxed child.

``proxy.sigmoid(z)`` sends the call as plain data, waits (with a timeout) and returns the decoded
result: plain data, or a ``Handle`` for what stayed in the child. The student's code works on
copies: nothing it does to its arguments, random generators included, reaches the judge's own
objects. A test that wants to see what a call did to its arguments asks for them
(``nnex_check.call_with_arguments``) and gets new objects; one that wants a child with nothing
left of earlier calls asks for it (``nnex_check.in_a_fresh_process``). The warnings a call raised
are raised again here. A crash or a timeout fails that call only: the next call starts a fresh
child, a few times at most, within the exercise's time budget.
"""
from __future__ import annotations

import builtins
import hashlib
import os
import time
import warnings
from pathlib import Path

import msgpack

from grader.sandbox import codec, warm
from grader.sandbox.launcher import Child, ChildDied, ChildTimeout

MAX_STARTS = 4
CALL_LOG = os.environ.get("NNEX_CALL_LOG")  # a folder: see StudentProxy._log_call


class StudentError(Exception):
    """The student's code raised, crashed, timed out or could not be imported."""


class Handle:
    """An object that stayed in the child. Checks refuse it; it can be passed back to the child."""

    def __init__(self, ident: int, type_name: str, owner: tuple):
        self.ident, self.nnex_type, self.owner = ident, type_name, owner  # owner: (proxy, generation)

    def __repr__(self):
        return f"<{self.nnex_type} kept in the sandbox>"


class _Shared:
    """What the exercise's proxy and the fresh ones made from it share: the time budget, and whether
    a child timed out or the sandbox could not start (a fault of the grader's, not of the student's)."""

    def __init__(self, total_s: float):
        self.total_s, self.deadline, self.timed_out = total_s, None, False
        self.start_error: str | None = None

    def remaining(self) -> float:
        if self.deadline is None:
            self.deadline = time.monotonic() + self.total_s
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.timed_out = True
            raise StudentError(f"the exercise's time budget of {self.total_s:.0f} s is spent")
        return remaining


class StudentFunction:
    """``proxy.name``: call it as the student's function, or ask for the arguments after the call."""

    def __init__(self, proxy: "StudentProxy", name: str):
        self.proxy, self.name = proxy, name

    def __call__(self, *args, **kwargs):
        return self.proxy.call(self.name, args, kwargs)

    def nnex_call_with_arguments(self, *args, **kwargs):
        """(result, args, kwargs), the arguments as the child's copies are after the call."""
        return self.proxy.call(self.name, args, kwargs, with_arguments=True)


class StudentProxy:
    def __init__(self, exercise, student_source: str, shared: _Shared | None = None):
        self.exercise = exercise
        self.source = student_source
        self.child: Child | None = None
        self.functions: tuple[str, ...] = ()
        self.generation = 0
        self.import_error: str | None = None
        self.shared = shared or _Shared(exercise.limits.total_timeout_s)
        self.fresh_proxies: list[StudentProxy] = []

    @property
    def timed_out(self) -> bool:
        return self.shared.timed_out

    @timed_out.setter
    def timed_out(self, value: bool) -> None:
        self.shared.timed_out = value

    @property
    def start_error(self) -> str | None:
        """Why the sandbox could not be set up, if it once could not."""
        return self.shared.start_error

    def nnex_fresh(self) -> "StudentProxy":
        """A proxy with a child of its own: nothing of the calls made so far is in it."""
        fresh = StudentProxy(self.exercise, self.source, self.shared)
        self.fresh_proxies.append(fresh)
        return fresh

    # -- the child ------------------------------------------------------------------------
    def _remaining(self) -> float:
        return self.shared.remaining()

    def _ensure_child(self) -> Child:
        if self.import_error is not None:
            raise StudentError(self.import_error)
        if self.child is not None:
            return self.child
        if self.generation >= MAX_STARTS:
            raise StudentError(f"{self.exercise.student_file} crashed or hung {MAX_STARTS} times; no further calls are made")
        self.generation += 1
        exercise = self.exercise
        timeout = min(exercise.limits.call_timeout_s, self._remaining())
        try:
            self.child = Child(self.source, exercise.module,
                               [exercise.exercise_dir / s for s in exercise.support_files],
                               exercise.forbidden, exercise.limits,
                               warm.zygote_for(getattr(exercise, "library", "numpy"), exercise.forbidden))
            tag, _ = self._decode(self.child.receive(timeout))
            if tag != "started":
                raise ValueError(f"the sandbox answered {tag!r} before it was set up")
        except (OSError, ChildTimeout, ChildDied, codec.CodecError, ValueError) as error:
            self._drop_child()
            self.shared.start_error = self.import_error = \
                f"the sandbox could not start: {type(error).__name__}: {error}".rstrip(": ")
            raise StudentError(self.import_error) from None
        try:
            tag, payload = self._decode(self.child.receive(timeout))
        except ChildTimeout:
            self._drop_child()
            self.timed_out = True
            self.import_error = f"importing {exercise.student_file} did not finish within {timeout:.0f} s"
            raise StudentError(self.import_error) from None
        except (ChildDied, codec.CodecError, ValueError) as error:
            self._drop_child()
            self.import_error = f"importing {exercise.student_file} failed: {error}"
            raise StudentError(self.import_error) from None
        if tag == "import_error":
            self._drop_child()
            self.import_error = f"importing {exercise.student_file} failed: {payload}"
            raise StudentError(self.import_error)
        if tag != "ready" or type(payload) is not list or not all(type(name) is str for name in payload):
            self._drop_child()
            self.import_error = f"importing {exercise.student_file} failed: the child sent a malformed response"
            raise StudentError(self.import_error)
        self.functions = tuple(payload)
        return self.child

    def _drop_child(self) -> None:
        if self.child is not None:
            self.child.close()
            self.child = None

    def close(self) -> None:
        for fresh in self.fresh_proxies:
            fresh.close()
        self._drop_child()

    # -- values ---------------------------------------------------------------------------
    def _other(self, obj):
        if type(obj) is Handle:
            if obj.owner != (self, self.generation):
                raise StudentError(f"{obj!r} was made by another child, or by one that has since been stopped")
            return msgpack.ExtType(codec.HANDLE, msgpack.packb([obj.ident, obj.nnex_type]))
        if codec.is_support_module(obj, self._support_modules):
            return codec.module_ext(obj)
        if type(obj).__name__ == "FixtureRef":
            return msgpack.ExtType(codec.FIXTURE, codec.encode([obj.target, obj.kwargs], self._other))
        raise codec.CodecError(f"a {type(obj).__qualname__} cannot be sent to the student's code")

    @property
    def _support_modules(self) -> list[str]:
        return [Path(s).stem for s in self.exercise.support_files]

    def _decode(self, data: bytes):
        owner = (self, self.generation)
        response = codec.decode(data, {codec.HANDLE: lambda p: Handle(p[0], str(p[1]), owner),
                                       codec.MODULE: lambda p: codec.build_module(p, self._support_modules)})
        sizes = {"started": 1, "ready": 2, "import_error": 2, "ok": 4, "raise": 3}
        if type(response) is not list or not response or type(response[0]) is not str \
                or sizes.get(response[0]) != len(response):
            raise ValueError("the child sent a malformed response")
        return response[0], response[1:] if response[0] in ("ok", "raise", "started") else response[1]

    # -- calls ----------------------------------------------------------------------------
    def _log_call(self, name: str, answer: bytes) -> None:
        """With NNEX_CALL_LOG=DIR, a digest of each answer goes to a file per (exercise, source):
        two files that answer every call alike behave alike wherever the tests looked (nnex validate)."""
        if CALL_LOG:
            source = hashlib.sha256(self.source.encode("utf-8", "surrogatepass")).hexdigest()[:16]
            with open(Path(CALL_LOG) / f"{self.exercise.id}-{source}.log", "a") as log:
                log.write(f"{name} {hashlib.sha256(answer).hexdigest()[:16]}\n")

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        self._ensure_child()
        if name not in self.functions:
            raise AttributeError(f"{self.exercise.student_file} defines no function {name}")
        return StudentFunction(self, name)

    def call(self, name: str, args: tuple, kwargs: dict, with_arguments: bool = False):
        """The student's ``name(*args, **kwargs)`` in the child; with_arguments: (result, args, kwargs)."""
        child = self._ensure_child()
        data = codec.encode(["call", name, list(args), kwargs, with_arguments], self._other)
        timeout = min(self.exercise.limits.call_timeout_s, self._remaining())
        try:
            child.send(data)
            answer = child.receive(timeout)
            self._log_call(name, answer)
            tag, payload = self._decode(answer)
        except ChildTimeout:
            self._log_call(name, b"timeout")
            self._drop_child()
            self.timed_out = True
            raise StudentError(f"{name} did not return within {timeout:.0f} s") from None
        except ChildDied as error:
            self._drop_child()
            raise StudentError(f"{name} did not return: {error}") from None
        except (codec.CodecError, ValueError) as error:
            self._drop_child()
            raise StudentError(f"{name} sent back data that was refused: {error}") from None
        if tag == "raise":
            kind, message = payload
            raise StudentError(f"{name} raised {kind}: {message}")
        result, arguments, relayed = payload
        for category, message in relayed:
            kind = getattr(builtins, str(category), None)
            if not (isinstance(kind, type) and issubclass(kind, Warning)):
                kind = UserWarning
            warnings.warn(f"{name}: {message}", kind, stacklevel=3)
        if not with_arguments:
            return result
        if type(arguments) is not list or len(arguments) != 2 or type(arguments[0]) is not list \
                or type(arguments[1]) is not dict or len(arguments[0]) != len(args) or set(arguments[1]) != set(kwargs):
            raise StudentError(f"{name}: the child sent back malformed arguments")
        return result, tuple(arguments[0]), arguments[1]
