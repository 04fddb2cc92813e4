"""Run public tests from inside a notebook, on the functions that the notebook defines.

The test cells of an exercise's nbgrader notebook call

    run_public_tests(globals(), "test_neuron.py", ["test_sigmoid_known_values", ...])

which runs those tests of the test file beside the notebook with pytest, in the notebook's own
kernel, ``student`` being the notebook's functions. It prints pytest's report and raises an
AssertionError when a test fails. The grader does not run these cells: it runs the same public
tests and hidden ones on your code in a sandbox.
"""
from __future__ import annotations

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
