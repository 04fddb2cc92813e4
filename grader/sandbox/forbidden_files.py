"""What the sandbox's filesystem shows in place of the parts of a library that an exercise forbids.

    masks(forbidden) -> (Mask, ...)

- a forbidden package (``forbidden.imports``, torch in a NumPy exercise): every copy of it on the
  path becomes a module that raises ImportError;
- a forbidden module (``forbidden.modules``): its file (a package: its folder) becomes such a
  module too;
- a forbidden function or class (``forbidden.functions``): the file of its module becomes a copy of
  the source in which the function's body (the class's whole body) raises.

The compiled copies (``__pycache__``) of every file replaced become empty files. So no route
inside the child (an import, a reload, libc's read of the file, unmarshalling a .pyc) finds the
original code: it is not there. Computed in the judge, which never runs the student's code.
"""
from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

REFUSED, EMPTY = "refused", "empty"  # the replacements that are not a patched source


@dataclass(frozen=True)
class Mask:
    path: Path  # a file or folder of the environment the child gets
    replacement: str  # REFUSED (a module that raises ImportError), EMPTY, or the text of a patched source


def _message(name: str) -> str:
    return f"{name} is not available in this exercise: compute it yourself"


def _find_spec(name: str):
    """The spec of module ``name``, found in its parents' folders without importing them (importing
    torch._higher_order_ops would import much of PyTorch's compiler: seconds); None if there is none."""
    parts = name.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])
        for depth in range(1, len(parts)):
            if spec is None or not spec.submodule_search_locations:
                return None
            spec = importlib.machinery.PathFinder.find_spec(".".join(parts[:depth + 1]),
                                                            list(spec.submodule_search_locations))
    except (ImportError, ValueError, AttributeError):
        return None
    return spec


def _module_file(dotted: str) -> tuple[str, Path] | None:
    """(module name, its source file) of the longest prefix of ``dotted`` that is a module."""
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        name = ".".join(parts[:split])
        spec = _find_spec(name)
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            return name, Path(spec.origin).resolve()
    return None


def _compiled_copies(source: Path) -> list[Mask]:
    stem = source.name.split(".")[0]
    cache = source.parent / "__pycache__"
    return [Mask(path, EMPTY) for path in sorted(cache.glob(f"{stem}.*.pyc"))] if cache.is_dir() else []


def patched_source(source: str, names: dict[str, str]) -> str:
    """``source`` with the top-level functions and classes in ``names`` (name -> dotted name) made to
    raise: a function keeps its signature, a class keeps its name and bases."""
    lines = source.splitlines(keepends=True)
    edits = []
    for node in ast.parse(source).body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or node.name not in names:
            continue
        raising = f"raise RuntimeError({_message(names[node.name])!r})\n"
        first = node.body[0]
        if first.lineno == node.lineno:  # a one-line definition: replaced whole
            indent = " " * node.col_offset
            body = [f"{indent}def {node.name}(*args, **kwargs):\n", f"{indent}    {raising}"]
            if isinstance(node, ast.ClassDef):
                body = [f"{indent}class {node.name}:\n", f"{indent}    def __init__(self, *args, **kwargs):\n",
                        f"{indent}        {raising}"]
            edits.append((node.lineno - 1, node.end_lineno, body))
            continue
        indent = " " * first.col_offset
        body = [f"{indent}{raising}"]
        if isinstance(node, ast.ClassDef):
            body = [f"{indent}def __init__(self, *args, **kwargs):\n", f"{indent}    {raising}", f"{indent}forward = __init__\n"]
        edits.append((first.lineno - 1, node.end_lineno, body))
    for start, end, body in sorted(edits, reverse=True):
        lines[start:end] = body
    return "".join(lines)


def _package_copies(package: str) -> set[Path]:
    """Every copy of a top-level package on the path: its folder, or its module files."""
    found = set()
    for entry in sys.path:
        folder = Path(entry or ".")
        if not folder.is_dir():
            continue
        found |= {folder / package} if (folder / package).is_dir() else set()
        found |= set(folder.glob(f"{package}.py")) | set(folder.glob(f"{package}.*.so"))
    return {p.resolve() for p in found}


def _inside(path: Path, folders: tuple[Path, ...]) -> bool:
    return any(folder == path or folder in path.parents for folder in folders)


@lru_cache(maxsize=16)
def masks(imports: tuple[str, ...], modules: tuple[str, ...], functions: tuple[str, ...],
          bound: tuple[Path, ...]) -> tuple[Mask, ...]:
    """The masks for these forbidden packages, modules and functions, within the ``bound`` folders."""
    found: list[Mask] = []
    for package in imports:
        found += [Mask(path, REFUSED) for path in sorted(_package_copies(package))]
    for module in modules:
        spec = _find_spec(module)
        if spec is None:
            continue
        for folder in spec.submodule_search_locations or ():
            found.append(Mask(Path(folder).resolve(), REFUSED))
        if spec.origin and spec.origin.endswith(".py") and not spec.submodule_search_locations:
            source = Path(spec.origin).resolve()
            found += [Mask(source, REFUSED), *_compiled_copies(source)]
    by_file: dict[Path, dict[str, str]] = {}
    for dotted in functions:
        located = _module_file(dotted)
        if located is not None and dotted.startswith(located[0] + ".") and "." not in dotted[len(located[0]) + 1:]:
            by_file.setdefault(located[1], {})[dotted.rsplit(".", 1)[1]] = dotted
    for source, names in sorted(by_file.items()):
        text = source.read_text(encoding="utf-8")
        patched = patched_source(text, names)
        if patched != text:
            found += [Mask(source, patched), *_compiled_copies(source)]
    return tuple(mask for mask in found if _inside(mask.path, bound))
