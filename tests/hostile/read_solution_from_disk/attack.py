"""Hostile: searches the filesystem for the worked solution or the reference and runs it; the stub if none is found."""
import importlib
import os
import sys
import time

BASE = "stub"

_TARGETS = ("solutions/01_neuron_gradient/neuron.py", "reference/neuron_gradient.py",
            "hidden/test_neuron_gradient.py")
_BUDGET_S = 2.0


def _candidates():
    """Direct guesses first: around the cwd, this file, the interpreter, the packages, /work."""
    anchors = [os.getcwd(), os.path.dirname(os.path.abspath(__file__)), sys.prefix, sys.base_prefix,
               "/work/main", "/work", "/root", "/home", "/srv", "/opt", "/app", "/autograder/source"]
    anchors += [p for p in sys.path if p]
    seen = set()
    for anchor in anchors:
        path = anchor
        for _ in range(6):
            for target in _TARGETS:
                candidate = os.path.join(path, target)
                if candidate not in seen:
                    seen.add(candidate)
                    yield candidate
            path = os.path.dirname(path)


def _walk(deadline):
    roots = ["/work", "/root", "/home", "/srv", "/opt", "/app", "/tmp", sys.prefix, sys.base_prefix, "/"]
    for root in roots:
        for folder, subfolders, files in os.walk(root):
            if time.monotonic() > deadline:
                return
            subfolders[:] = [s for s in subfolders
                             if os.path.join(folder, s) not in ("/proc", "/sys", "/dev", "/run")]
            for name in files:
                if name in ("neuron.py", "neuron_gradient.py", "test_neuron_gradient.py"):
                    path = os.path.join(folder, name)
                    if path.replace(os.sep, "/").endswith(_TARGETS):
                        yield path


def _find():
    for candidate in _candidates():
        if os.path.isfile(candidate):
            return candidate
    for name in ("solutions", "reference"):  # an editable install's finder may still map them
        try:
            module = importlib.import_module(name)
            for folder in list(getattr(module, "__path__", [])):
                for target in _TARGETS:
                    path = os.path.join(os.path.dirname(folder), target)
                    if os.path.isfile(path):
                        return path
        except Exception:
            pass
    for path in _walk(time.monotonic() + _BUDGET_S):
        return path
    return None


def _adopt(path):
    """Run the found file and take its functions, converting the reference's tensors to numpy."""
    namespace = {"__name__": "found", "__file__": path}
    exec(compile(open(path).read(), path, "exec"), namespace)
    if path.endswith("neuron.py"):
        return {k: v for k, v in namespace.items() if callable(v) and not k.startswith("_")}

    def plain(value):
        if isinstance(value, tuple):
            return tuple(plain(v) for v in value)
        if hasattr(value, "detach"):
            array = value.detach().cpu().double().numpy()
            return float(array) if array.ndim == 0 else array
        return value

    def wrapped(function):
        return lambda *args, **kwargs: plain(function(*args, **kwargs))

    return {k: wrapped(v) for k, v in namespace.items() if callable(v) and not k.startswith("_")}


FOUND = _find()
if FOUND is not None:
    try:
        globals().update(_adopt(FOUND))
    except Exception:
        pass
