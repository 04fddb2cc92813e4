"""What a self-check shows: the public tests' failures in a few lines, with the hint of the mistake.

Shared by the pytest plugin (conftest.py) and the notebook's ``check(...)`` (nnex_notebook.py).
Each exercise folder holds ``self_check.json``, generated from the exercise's manifest:

    {"student_file": "attention.py",
     "tasks": {"causal_mask": ["test_causal_mask_for_a_few_lengths"], ...},   # task -> public tests
     "hints": {"no_scaling": "No scaling of the scores: ...", ...}}           # mistake -> hint

A notebook can be tested as a module too (``notebook_module``): its code cells, IPython's syntax
translated by IPython itself, with magics and shell escapes never run.
"""
from __future__ import annotations

import json
import re
import textwrap
import traceback
import types
from pathlib import Path

SELF_CHECK_FILE = "self_check.json"
CHECK_TAG = "nnex-check"  # the notebook's check cells: not part of the student's code
WIDTH = 100

# what the student's function raised -> the mistake of the hints it shows (as the grader decides)
RAISED = [((ValueError, RuntimeError, IndexError, TypeError),
           re.compile(r"shape|broadcast|size of tensor|mat1 and mat2|not aligned|dimension|mismatch"), "shape_mismatch"),
          ((IndexError,), None, "index_out_of_range"),
          ((TypeError, AttributeError), None, "wrong_arguments"),
          ((KeyError,), None, "missing_key"),
          ((NameError,), None, "undefined_name"),
          ((ZeroDivisionError,), None, "division_by_zero")]


def load_self_check(folder: Path) -> dict:
    """The exercise's self_check.json in ``folder``; empty tasks and hints when there is none."""
    path = Path(folder) / SELF_CHECK_FILE
    if not path.is_file():
        return {"tasks": {}, "hints": {}}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValueError(f"{path} is not valid JSON ({error}): take it again from the exercises") from None


def _wrapped(text: str, prefix: str) -> list[str]:
    return textwrap.wrap(" ".join(text.split()), WIDTH, initial_indent=prefix,
                         subsequent_indent=" " * len(prefix)) or [prefix.rstrip()]


def explain(error: BaseException, hints: dict, student_file: str | None = None) -> list[str]:
    """A failure in a few lines: what was wrong (with its numbers), then the hint when one applies.

    ``error`` is what the test raised: a check that failed (nnex_check.CheckFailed), or an exception
    of the student's code, shown at the line of ``student_file`` where it happened.
    """
    if isinstance(error, AssertionError) and hasattr(error, "mistake"):  # nnex_check.CheckFailed
        lines = _wrapped(error.detail, "")
        mistake = error.mistake
    elif isinstance(error, NotImplementedError):
        where = _student_line(error, student_file)
        return [f"{where[0] if where else 'a function'} is not written yet: it raises NotImplementedError "
                f"(fill in its # YOUR CODE HERE{f' in {student_file}' if student_file else ''})"]
    else:
        where = _student_line(error, student_file)
        message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        lines = _wrapped(message, "")[:4]
        if where:
            lines = [f"{where[1]}, in {where[0]}: {where[2]}", *lines]
        mistake = next((m for kinds, pattern, m in RAISED
                        if isinstance(error, kinds) and (pattern is None or pattern.search(str(error)))), None)
    hint = hints.get(mistake) if mistake else None
    if hint:
        lines += _wrapped(hint, "Likely mistake: ")
    elif mistake:
        lines.append(f"Likely mistake: {mistake}")
    return lines


def _student_line(error: BaseException, student_file: str | None):
    """(function, "file:line", code) of the last frame in the student's file, or None."""
    frames = traceback.extract_tb(error.__traceback__)
    mine = [f for f in frames if student_file and Path(f.filename).name == student_file] or \
           [f for f in frames if f.filename.startswith("<") or f.filename.startswith("In [")]
    if not mine:
        return None
    frame = mine[-1]
    return frame.name, f"{Path(frame.filename).name}:{frame.lineno}", (frame.line or "").strip()


def notebook_code(path: Path) -> list[tuple[str, str]]:
    """(name, code) of each code cell of the notebook at ``path`` that is the student's: the check
    cells are left out, IPython's syntax is translated to Python the way IPython does it."""
    import nbformat

    notebook = nbformat.read(str(path), as_version=4)
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        translate = TransformerManager().transform_cell
    except ImportError:  # without IPython a notebook of plain Python still works
        translate = lambda source: source  # noqa: E731
    cells = []
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code" or CHECK_TAG in cell.metadata.get("tags", []):
            continue
        cells.append((f"In [{number}]", translate(cell.source)))
    return cells


class _NoIPython:
    """``get_ipython()`` outside IPython: magics and shell escapes do nothing and give nothing."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def notebook_module(path: Path, name: str) -> types.ModuleType:
    """The notebook at ``path`` run as the module ``name``: its cells, one after the other."""
    module = types.ModuleType(name)
    module.__file__ = str(path)
    module.get_ipython = lambda: _NoIPython()
    module.display = lambda *objects, **kwargs: None
    for cell, code in notebook_code(path):
        exec(compile(code, cell, "exec"), module.__dict__)  # noqa: S102 (the student's own notebook)
    return module
