"""The sandboxed child: imports one student file and runs the calls the judge sends it.

    python -s -B child.py CONFIG_JSON

CONFIG_JSON: {"student_dir", "module", "support_modules", "forbidden_imports", "guard", "uid",
"request_fd", "response_fd"}; with a uid, the child becomes that user, and with a guard
({"functions", "operators", "modules"}, see library_guard.py) makes those parts of the library
unusable, before it imports the student's file. Requests and responses are codec frames on the two
pipes; stdout and stderr go nowhere the judge reads. The first response says that the sandbox is
set up, before any student code runs; the second whether the import worked:

    ["started"]
    ["ready", [function names]]  or  ["import_error", message]

then, per request ["call", name, args, kwargs, with_arguments]:

    ["ok", result, arguments, warnings]  arguments: [args, kwargs] as they are after the call when
                                         with_arguments is true (what a test asked to inspect), else None
    ["raise", exception type, message]   anything the call raised, SystemExit and KeyboardInterrupt too

Objects that are not plain data stay here behind handles. This file, codec.py, library_guard.py and
syscall_filter.py are copied into the sandbox; they import nothing from the grader.
"""
import importlib.abc
import importlib.util
import json
import os
import random
import sys
import traceback
import warnings

RUNTIME = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, RUNTIME)
import codec  # noqa: E402  (the runtime folder is on the path only for these imports)
import library_guard  # noqa: E402
import syscall_filter  # noqa: E402

sys.path[:] = [entry for entry in sys.path if entry != RUNTIME]  # the script's own folder too

import msgpack  # noqa: E402
import numpy as np  # noqa: E402


class ForbiddenImports(importlib.abc.MetaPathFinder):
    """Refuses the modules the exercise forbids (torch in a NumPy-only exercise)."""

    def __init__(self, names, student_file):
        self.names, self.student_file = tuple(names), student_file

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            raise ImportError(f"importing {fullname} is not allowed in {self.student_file}")
        return None


class Runtime:
    def __init__(self, config):
        self.config = config
        self.handles = {}
        self.student_file = os.path.join(config["student_dir"], config["module"] + ".py")

    # -- values ---------------------------------------------------------------------------
    def keep(self, obj):
        """What is not plain data stays here; the judge gets a handle naming its type.

        A model of a class from a support module goes as its config and weights instead."""
        if codec.is_support_module(obj, self.config["support_modules"]):
            return codec.module_ext(obj)
        handle = len(self.handles) + 1
        self.handles[handle] = obj
        kind = type(obj)
        return msgpack.ExtType(codec.HANDLE, msgpack.packb([handle, f"{kind.__module__}.{kind.__qualname__}"]))

    def resolve_handle(self, payload):
        handle, _type_name = payload
        if handle not in self.handles:
            raise codec.CodecError(f"unknown handle {handle}")
        return self.handles[handle]

    def build_fixture(self, payload):
        target, kwargs = payload
        module, _, attribute = target.partition(":")
        if module not in self.config["support_modules"]:
            raise codec.CodecError(f"fixture {target} is not from a support module")
        return getattr(importlib.import_module(module), attribute)(**kwargs)

    def encode(self, value) -> bytes:
        return codec.encode(value, self.keep)

    def decode(self, data: bytes):
        return codec.decode(data, {codec.HANDLE: self.resolve_handle, codec.FIXTURE: self.build_fixture,
                                   codec.MODULE: lambda p: codec.build_module(p, self.config["support_modules"])})

    # -- calls ----------------------------------------------------------------------------
    def import_student(self):
        sys.path.insert(0, self.config["student_dir"])
        sys.meta_path.insert(0, ForbiddenImports(self.config["forbidden_imports"], self.config["module"] + ".py"))
        spec = importlib.util.spec_from_file_location(self.config["module"], self.student_file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[self.config["module"]] = module
        spec.loader.exec_module(module)
        return module

    def student_traceback(self, error: BaseException) -> str:
        frames = [frame for frame in traceback.extract_tb(error.__traceback__)
                  if frame.filename == self.student_file]
        return "".join(f"\n  {os.path.basename(f.filename)}, line {f.lineno}, in {f.name}: {f.line}"
                       for f in frames[-3:])

    def call(self, module, name, args, kwargs, with_arguments):
        function = getattr(module, name, None)
        if not callable(function):
            return ["raise", "AttributeError", f"{self.config['module']}.py defines no function {name}"]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = function(*args, **kwargs)
            except BaseException as error:  # SystemExit, KeyboardInterrupt and pytest's Skipped too
                message = str(error)[:2000] + self.student_traceback(error)
                return ["raise", type(error).__name__, message]
        arguments = [list(args), kwargs] if with_arguments else None
        relayed = [[w.category.__name__, str(w.message)[:500]] for w in caught[:20]]
        return ["ok", result, arguments, relayed]

    def serve(self):
        request_fd, response_fd = self.config["request_fd"], self.config["response_fd"]
        uid = self.config["uid"]
        if uid is not None:  # before any student code: as root, the limit on processes would not hold
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        syscall_filter.install()  # no user namespace, keyring or memory outside the limits, from here on
        # the global generators start from the same state in every child (torch's does by itself), so
        # code that uses them gives the same answers, and the same messages, run after run
        random.seed(0)
        np.random.seed(0)
        guard = self.config["guard"]
        library_guard.refuse(guard["functions"], guard["operators"], guard["modules"],
                             self.config["module"] + ".py")
        codec.write_frame(response_fd, self.encode(["started"]))
        try:
            module = self.import_student()
        except BaseException as error:
            message = f"{type(error).__name__}: {str(error)[:2000]}{self.student_traceback(error)}"
            codec.write_frame(response_fd, self.encode(["import_error", message]))
            return
        functions = sorted(name for name, value in vars(module).items()
                           if callable(value) and not name.startswith("_"))
        codec.write_frame(response_fd, self.encode(["ready", functions]))
        while True:
            try:
                request = self.decode(codec.read_frame(request_fd))
            except EOFError:
                return
            _op, name, args, kwargs, with_arguments = request
            response = self.call(module, name, args, kwargs, with_arguments)
            try:
                data = self.encode(response)
            except codec.CodecError as error:
                data = self.encode(["raise", "CodecError", f"the result of {name} cannot be sent back: {error}"])
            codec.write_frame(response_fd, data)


if __name__ == "__main__":
    Runtime(json.loads(sys.argv[1])).serve()
