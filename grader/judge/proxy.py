"""The ``student`` object of the grader: the student's functions, run in a sandboxed child.

``proxy.sigmoid(z)`` sends the call as plain data, waits (with a timeout) and returns the decoded
result: plain data, or a ``Handle`` for what stayed in the child. Array arguments the student
changed in place are copied back, and the warnings the call raised are raised again here, so a
test sees what it would see in-process. A crash or a timeout fails that call only: the next call
starts a fresh child, a few times at most, within the exercise's time budget.
"""
from __future__ import annotations

import builtins
import time
import warnings
from pathlib import Path

import msgpack
import numpy as np

from grader.sandbox import codec
from grader.sandbox.launcher import Child, ChildDied, ChildTimeout

MAX_STARTS = 4


class StudentError(Exception):
    """The student's code raised, crashed, timed out or could not be imported."""


class Handle:
    """An object that stayed in the child. Checks refuse it; it can be passed back to the child."""

    def __init__(self, ident: int, type_name: str, generation: int):
        self.ident, self.nnex_type, self.generation = ident, type_name, generation

    def __repr__(self):
        return f"<{self.nnex_type} kept in the sandbox>"


class StudentProxy:
    def __init__(self, exercise, student_source: str):
        self.exercise = exercise
        self.source = student_source
        self.child: Child | None = None
        self.functions: tuple[str, ...] = ()
        self.generation = 0
        self.import_error: str | None = None
        self.timed_out = False
        self.deadline: float | None = None

    # -- the child ------------------------------------------------------------------------
    def _remaining(self) -> float:
        if self.deadline is None:
            self.deadline = time.monotonic() + self.exercise.limits.total_timeout_s
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.timed_out = True
            raise StudentError(f"the exercise's time budget of {self.exercise.limits.total_timeout_s:.0f} s is spent")
        return remaining

    def _ensure_child(self) -> Child:
        if self.import_error is not None:
            raise StudentError(self.import_error)
        if self.child is not None:
            return self.child
        if self.generation >= MAX_STARTS:
            raise StudentError(f"{self.exercise.student_file} crashed or hung {MAX_STARTS} times; no further calls are made")
        self.generation += 1
        exercise = self.exercise
        self.child = Child(self.source, exercise.module,
                           [exercise.exercise_dir / s for s in exercise.support_files],
                           list(exercise.forbidden_imports), exercise.limits)
        timeout = min(exercise.limits.call_timeout_s, self._remaining())
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
        self.functions = tuple(payload)
        return self.child

    def _drop_child(self) -> None:
        if self.child is not None:
            self.child.close()
            self.child = None

    def close(self) -> None:
        self._drop_child()

    # -- values ---------------------------------------------------------------------------
    def _other(self, obj):
        if type(obj) is Handle:
            if obj.generation != self.generation:
                raise StudentError(f"{obj!r} was made by an earlier child that has since been stopped")
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
        generation = self.generation
        response = codec.decode(data, {codec.HANDLE: lambda p: Handle(p[0], str(p[1]), generation),
                                       codec.MODULE: lambda p: codec.build_module(p, self._support_modules)})
        sizes = {"ready": 2, "import_error": 2, "ok": 4, "raise": 3}
        if type(response) is not list or not response or type(response[0]) is not str \
                or sizes.get(response[0]) != len(response):
            raise ValueError("the child sent a malformed response")
        return response[0], response[1:] if response[0] in ("ok", "raise") else response[1]

    # -- calls ----------------------------------------------------------------------------
    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        self._ensure_child()
        if name not in self.functions:
            raise AttributeError(f"{self.exercise.student_file} defines no function {name}")
        return lambda *args, **kwargs: self.call(name, args, kwargs)

    def call(self, name: str, args: tuple, kwargs: dict):
        child = self._ensure_child()
        data = codec.encode(["call", name, list(args), kwargs], self._other)
        timeout = min(self.exercise.limits.call_timeout_s, self._remaining())
        try:
            child.send(data)
            tag, payload = self._decode(child.receive(timeout))
        except ChildTimeout:
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
        self._copy_back(args, kwargs, arguments)
        for category, message in relayed:
            kind = getattr(builtins, str(category), None)
            if not (isinstance(kind, type) and issubclass(kind, Warning)):
                kind = UserWarning
            warnings.warn(f"{name}: {message}", kind, stacklevel=3)
        return result

    @staticmethod
    def _copy_back(args, kwargs, arguments) -> None:
        """Give the caller's own arrays and generators the values the child's copies have after the call."""
        for path, value in arguments:
            try:
                where, *keys = path
                target = args if where == "args" else kwargs
                for key in keys:
                    target = target[key]
            except (KeyError, IndexError, TypeError, ValueError):
                continue
            if type(target) is np.ndarray and type(value) is np.ndarray and target.shape == value.shape:
                np.copyto(target, value, casting="unsafe")
            elif hasattr(target, "copy_") and hasattr(value, "copy_") and target.shape == value.shape:
                target.copy_(value)
            elif type(target) is np.random.Generator and type(value) is np.random.Generator:
                if type(target.bit_generator) is type(value.bit_generator):
                    target.bit_generator.state = value.bit_generator.state
            elif type(target).__name__ == "Generator" and type(value) is type(target) \
                    and target.device == value.device:  # torch.Generator
                target.set_state(value.get_state())
