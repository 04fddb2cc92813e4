"""Run public tests from inside a notebook, on the functions that the notebook defines.

The released notebooks have, after each task, a cell

    check("attention_pattern")

which runs that task's public tests on the functions defined in the kernel and prints one line when
they pass, or the first failing check in a few lines with the hint of the mistake it looks like;
``check_all()`` does every task. It is a convenience: grading happens in the grader's sandbox.

The test cells of an exercise's nbgrader notebook call

    run_public_tests(globals(), "test_neuron.py", ["test_sigmoid_known_values", ...])

which runs those tests of the test file beside the notebook with pytest, in the notebook's own
kernel, ``student`` being the notebook's functions. It prints pytest's report and raises an
AssertionError when a test fails. The grader does not run these cells: it runs the same public
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
import pytest


class _NoFigures:
    """The grader draws pictures for its feedback; a self-check has no use for them."""

    def add(self, name, draw):
        pass


class _NotebookFixtures:
    """The fixtures of the public tests (as in conftest.py), with ``student`` the notebook."""

    def __init__(self, student):
        self.notebook = student

    @pytest.fixture(scope="session")
    def student(self):
        return self.notebook

    @pytest.fixture
    def rng(self, request):
        return np.random.default_rng(zlib.crc32(request.node.name.encode()))

    @pytest.fixture(scope="session")
    def figures(self):
        return _NoFigures()


def run_public_tests(namespace: dict, test_file: str, tests: list[str]) -> None:
    """Run ``tests`` (names of test functions in ``test_file``) on the functions in ``namespace``.

    Inputs:
    - namespace: the notebook's globals(), where the functions under test are defined.
    - test_file: the public test file, relative to the working directory (the notebook's folder).
    - tests: the names of the test functions to run.

    Raises AssertionError when a test fails or the test file is missing.
    """
    path = Path(test_file).resolve()
    if not path.is_file():
        raise AssertionError(f"{test_file} is not in {Path.cwd()}: keep it beside the notebook")
    for folder in (path.parent, path.parent.parent):  # nnex_check and the support modules
        if (folder / "nnex_check.py").is_file() and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    student = types.SimpleNamespace(**{k: v for k, v in namespace.items() if not k.startswith("_")})
    code = pytest.main([*(f"{path}::{name}" for name in tests), "-q", "--no-header", "--noconftest",
                        "-p", "no:cacheprovider", "-c", os.devnull, "--rootdir", str(path.parent)],
                       plugins=[_NotebookFixtures(student)])
    if code != pytest.ExitCode.OK:
        raise AssertionError(f"the public tests above did not all pass (pytest exit status {int(code)})")


class _Fixtures:
    """The public tests' fixtures (as conftest.py gives them), for one test called directly."""

    def __init__(self, student, test_name: str):
        self.student = student
        self.rng = np.random.default_rng(zlib.crc32(test_name.encode()))
        self.figures = _NoFigures()


def _test_modules(folder: Path) -> list:
    for directory in (folder.parent, folder):  # nnex_check, then the support modules
        if str(directory) not in sys.path:
            sys.path.insert(0, str(directory))
    modules = []
    for path in sorted(folder.glob("test_*.py")):
        spec = importlib.util.spec_from_file_location(f"nnex_public_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


def _run_task(task: str, tests: list[str], modules: list, student, hints: dict, student_file: str) -> bool:
    from nnex_selfcheck import explain

    functions = {name: getattr(m, name) for m in modules for name in tests if hasattr(m, name)}
    for name in tests:
        if name not in functions:
            print(f"{task}: the public test {name} is missing; take the exercise's test files again")
            return False
        fixtures = _Fixtures(student, name)
        try:
            functions[name](**{p: getattr(fixtures, p) for p in inspect.signature(functions[name]).parameters})
        except Exception as error:  # the first failing check, in a few lines
            lines = explain(error, hints, student_file)
            print("\n".join([f"{task}: not yet ({name}): {lines[0]}", *("  " + line for line in lines[1:])]))
            return False
    print(f"{task}: passed {len(tests)} public test{'s' if len(tests) != 1 else ''}")
    return True


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
