"""Run public tests from inside a notebook, on the functions that the notebook defines.

The released notebooks have, after each task, a cell

    check("attention_pattern")

which runs that task's public tests on the functions defined in the kernel and prints one line when
they pass, or the first failing check in a few lines with the hint of the mistake it looks like;
``check_all()`` does every task. It is a convenience: grading happens in the grader's sandbox.

The test cells of an exercise's nbgrader notebook call

    run_public_tests(globals(), "test_neuron.py", ["test_sigmoid_known_values", ...])

which runs those tests of the test file beside the notebook, in the notebook's own kernel,
``student`` being the notebook's functions. It prints one line when they pass and raises an
AssertionError with the first failing check and its hint when one fails. The grader does not run these cells: it runs the same public
tests and hidden ones on your code in a sandbox.
"""
from __future__ import annotations

import importlib.util
import inspect
import os
import sys
import types
import zlib
from pathlib import Path

import numpy as np


class _NoFigures:
    """The grader draws pictures for its feedback; a self-check has no use for them."""

    def add(self, name, draw):
        pass


def run_public_tests(namespace: dict, test_file: str, tests: list[str]) -> None:
    """Run ``tests`` (names of test functions in ``test_file``) on the functions in ``namespace``.

    Inputs:
    - namespace: the notebook's globals(), where the functions under test are defined.
    - test_file: the public test file, relative to the working directory (the notebook's folder).
    - tests: the names of the test functions to run.

    Prints one line when they pass; raises AssertionError with the first failing check and the hint
    of its mistake when one fails, or when the test file is missing.
    """
    from nnex_selfcheck import load_self_check

    path = Path(test_file).resolve()
    if not path.is_file():
        raise AssertionError(f"{test_file} is not in {Path.cwd()}: keep it beside the notebook")
    spec = load_self_check(path.parent)
    student = types.SimpleNamespace(**{k: v for k, v in namespace.items() if not k.startswith("_")})
    failure = _run_tests(tests, _test_modules(path.parent, [path]), student, spec["hints"],
                         spec.get("student_file"))
    if failure is not None:
        raise AssertionError(failure)
    print(f"passed {len(tests)} public test{'s' if len(tests) != 1 else ''}")


class _Fixtures:
    """The public tests' fixtures (as conftest.py gives them), for one test called directly."""

    def __init__(self, student, test_name: str):
        self.student = student
        self.rng = np.random.default_rng(zlib.crc32(test_name.encode()))
        self.figures = _NoFigures()


def _test_modules(folder: Path, paths: list[Path] | None = None) -> list:
    for directory in (folder.parent, folder):  # nnex_check, then the support modules
        if (directory / "nnex_check.py").is_file() or directory == folder:
            if str(directory) not in sys.path:
                sys.path.insert(0, str(directory))
    modules = []
    for path in paths if paths is not None else sorted(folder.glob("test_*.py")):
        spec = importlib.util.spec_from_file_location(f"nnex_public_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


def _run_tests(tests: list[str], modules: list, student, hints: dict, student_file: str | None) -> str | None:
    """Run ``tests`` in order until one fails; None when all pass, else that failure in a few lines."""
    from nnex_selfcheck import explain

    functions = {name: getattr(m, name) for m in modules for name in tests if hasattr(m, name)}
    for name in tests:
        if name not in functions:
            return f"the public test {name} is missing: take the exercise's test files again"
        fixtures = _Fixtures(student, name)
        try:
            functions[name](**{p: getattr(fixtures, p) for p in inspect.signature(functions[name]).parameters})
        except Exception as error:  # the first failing check
            lines = explain(error, hints, student_file)
            return "\n".join([f"{name}: {lines[0]}", *("  " + line for line in lines[1:])])
    return None


def _run_task(task: str, tests: list[str], modules: list, student, hints: dict, student_file: str) -> bool:
    failure = _run_tests(tests, modules, student, hints, student_file)
    if failure is None:
        print(f"{task}: passed {len(tests)} public test{'s' if len(tests) != 1 else ''}")
    else:
        print(f"{task}: not yet, {failure}")
    return failure is None


def check(task: str, namespace: dict | None = None, folder: str | Path = ".") -> bool:
    """Run the public tests of ``task`` on the functions of ``namespace`` (default: the caller's
    globals, the notebook's) and print the verdict; True when they pass.

    folder: the exercise's folder, which holds self_check.json and the public tests (default: the
    working directory, the notebook's own folder).
    """
    from nnex_selfcheck import load_self_check

    folder = Path(folder).resolve()
    namespace = sys._getframe(1).f_globals if namespace is None else namespace
    spec = load_self_check(folder)
    if task not in spec["tasks"]:
        known = ", ".join(spec["tasks"]) or "none here: run the notebook from its own folder"
        raise ValueError(f"no task {task!r} in {folder / 'self_check.json'}; the tasks: {known}")
    student = types.SimpleNamespace(**{k: v for k, v in namespace.items() if not k.startswith("_")})
    return _run_task(task, spec["tasks"][task], _test_modules(folder), student, spec["hints"],
                     spec.get("student_file"))


def check_all(namespace: dict | None = None, folder: str | Path = ".") -> bool:
    """``check`` every task of the exercise, in order; True when all pass."""
    namespace = sys._getframe(1).f_globals if namespace is None else namespace
    from nnex_selfcheck import load_self_check

    tasks = load_self_check(Path(folder).resolve())["tasks"]
    if not tasks:
        raise ValueError(f"no self_check.json with tasks in {Path(folder).resolve()}: run the notebook "
                         "from its own folder")
    return all([check(task, namespace, folder) for task in tasks])
