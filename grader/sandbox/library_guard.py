"""Makes the library functions an exercise forbids unusable in the sandboxed child's interpreter.

    refuse(functions, operators, modules, exercise_file)

runs before the student's file is imported, so that no student code exists yet. With bubblewrap,
the original Python code of the refused functions and modules is not even on the child's
filesystem (forbidden_files.py); this is the part the filesystem cannot do (compiled kernels),
and what is left where there is no bubblewrap:

- ``operators``: every operator whose name contains one of these strings (in any case) gets a
  kernel that raises, for each dispatch key it has one for (vmap's, nested tensors' and
  autocast's as well as the devices'). The registration lives in a dispatcher library
  object that no Python object refers to (it is not tracked by the garbage collector either), so
  it cannot be found and dropped; whatever name or route reaches the operator (torch.ops.aten, a
  Python wrapper, a module's fast path) ends in the raising kernel.
- ``functions``: dotted names of Python functions and classes. A function's code is replaced, so
  every reference to it raises, however it was found; a class gets a raising constructor and
  forward.
- ``modules``: importing these (or their submodules) is refused: their files (a package: every
  file in its folder) cannot be opened, whatever the route of the import. Nor can the source files
  of the modules that held the refused functions be opened or their code executed again (no
  reload, no exec of their text). An audit hook does both; it cannot be removed.

Each refusal raises RuntimeError (ImportError for a module, PermissionError for a guarded file) with
a message that names the thing and ``exercise_file``. This file is copied into the sandbox and
imports nothing from the grader.
"""
import ctypes
import gc
import importlib
import os
import sys
import warnings


def _message(name, exercise_file):
    return f"{name} is not available in this exercise: {exercise_file} must compute it itself"


def _raising(message):
    def refused(*args, **kwargs):
        raise RuntimeError(message)

    return refused


def _refuse_operators(patterns, exercise_file):
    """Every kernel of every operator (any namespace) whose name holds a pattern, in any case: under
    every dispatch key (vmap's, nested tensors', autocast's... as well as the devices')."""
    import torch

    names = [n for n in torch._C._dispatch_get_all_op_names() if any(p.lower() in n.lower() for p in patterns)]
    libraries = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "overriding a previously registered kernel" is the point
        for name in names:
            namespace, operator = name.split("::", 1)
            if namespace not in libraries:
                libraries[namespace] = torch._C._dispatch_library("IMPL", namespace, "")
            refused = _raising(_message(name, exercise_file))
            for key in torch._C.DispatchKey.__members__:
                try:
                    if torch._C._dispatch_has_kernel_for_dispatch_key(name, key):
                        libraries[namespace].impl(operator, key, refused)
                except RuntimeError:  # a key that names no backend (an end-of-range marker)
                    continue
    # the registrations last as long as their library objects: keep them alive where nothing reaches them
    for library in libraries.values():
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(library))


def _resolve(dotted):
    """(owner, attribute name, object) for a dotted name, importing the longest module prefix;
    None where this version of the library has no such thing (then there is nothing to refuse)."""
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:-1]:
            owner = getattr(owner, part, None)
        return (owner, parts[-1], getattr(owner, parts[-1])) if hasattr(owner, parts[-1]) else None
    return None


def _raising_code(message):
    """A code object without free variables that raises ``message``: it can replace any function's."""
    namespace = {}
    exec(f"def refused(*args, **kwargs):\n    raise RuntimeError({message!r})", namespace)
    return namespace["refused"].__code__


def _refuse_function(dotted, exercise_file):
    """Make ``dotted`` raise wherever it is referenced; returns the module that defined it, if any."""
    found = _resolve(dotted)
    if found is None:
        return None
    owner, attribute, target = found
    message = _message(dotted, exercise_file)
    if isinstance(target, type):
        for method in ("__init__", "forward"):
            setattr(target, method, _raising(message))
        return sys.modules.get(target.__module__)
    if hasattr(target, "__code__") and not target.__code__.co_freevars:
        target.__code__ = _raising_code(message)
        return sys.modules.get(target.__module__)
    setattr(owner, attribute, _raising(message))  # a builtin or a closure: replaced where it is looked up
    return None


def _with_compiled_copies(source):
    """A module's source file and its compiled copies in __pycache__."""
    folder, name = os.path.split(source)
    stem, cache = name.split(".")[0], os.path.join(folder, "__pycache__")
    return [source] + [os.path.join(cache, n) for n in (os.listdir(cache) if os.path.isdir(cache) else ())
                       if n.split(".")[0] == stem]


def _files_of_refused(name):
    """Every file a refused module would be read from: its source and compiled copies; a package's whole folder."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    paths = [os.path.join(root, n) for folder in spec.submodule_search_locations or ()
             for root, _, names in os.walk(folder) for n in names]
    return paths + (_with_compiled_copies(spec.origin) if spec.origin and os.path.isfile(spec.origin) else [])


def _identities(paths):
    """(st_dev, st_ino) of each file: the same file under any name, link or relative path."""
    return {(found.st_dev, found.st_ino) for found in map(os.stat, paths)}


def _guard(refused_modules, guarded_files, exercise_file):
    """An audit hook: refused modules cannot be imported, guarded files not opened nor their code run.

    Everything the hook uses is bound in its defaults (builtins, immutable values), so patching a
    module or the builtins cannot change what it does, and the hook itself cannot be found.
    """
    def hook(event, args, modules=tuple(refused_modules), files=frozenset(guarded_files), suffix=exercise_file,
             stat=os.stat, fsdecode=os.fsdecode, isinstance=isinstance, getattr=getattr, str=str, bytes=bytes,
             ImportError=ImportError, PermissionError=PermissionError, RuntimeError=RuntimeError,
             OSError=OSError, ValueError=ValueError, TypeError=TypeError):
        if event == "import":
            name = args[0]
            for module in modules:
                if name == module or name.startswith(module + "."):
                    raise ImportError(f"{name} is not available in this exercise: {suffix} must compute it itself")
        elif event == "open" or event == "exec":
            path = args[0] if event == "open" else getattr(args[0], "co_filename", None)
            if isinstance(path, (str, bytes)):
                try:
                    found = stat(path)
                except (OSError, ValueError, TypeError):
                    return
                if (found.st_dev, found.st_ino) in files:
                    raise PermissionError(f"{fsdecode(path)} belongs to a part of the library that is not "
                                          f"available in this exercise: {suffix} must compute it itself")

    sys.addaudithook(hook)
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(hook))  # never freed: freeing an untracked function crashes
    untrack = ctypes.pythonapi.PyObject_GC_UnTrack
    untrack.argtypes = [ctypes.py_object]
    for holder in gc.get_referrers(hook):
        if type(holder) is list:  # the interpreter's list of audit hooks
            untrack(holder)
    untrack(hook)


def refuse(functions, operators, modules, exercise_file):
    if operators:
        _refuse_operators(tuple(operators), exercise_file)
    owners = [_refuse_function(dotted, exercise_file) for dotted in functions]
    if functions or modules:
        sources = [_with_compiled_copies(m.__file__) for m in owners if getattr(m, "__file__", None)]
        refused = [_files_of_refused(name) for name in modules]
        _guard(modules, _identities(p for group in sources + refused for p in group), exercise_file)
