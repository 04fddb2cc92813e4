"""How the stock course of cohort.py runs a test cell's hidden tests: with pytest, in the student's
kernel, ``student`` being the notebook's own functions, as a course without nn-exercises' grader
would. cohort.py puts this file beside the stock course's notebooks (and nnex_notebook.py, whose
fixtures the check cells use, is there too).
"""
import os
import tempfile
import types

import pytest
from nnex_notebook import _Fixtures


def _kernel_fixtures(namespace: dict) -> types.ModuleType:
    """The fixtures the hidden tests ask for, from the kernel (the judge's give them from a sandbox)."""
    functions = types.SimpleNamespace(**{k: v for k, v in namespace.items() if not k.startswith("_")})

    @pytest.fixture(scope="session")
    def student():
        return functions

    @pytest.fixture(scope="session")
    def figures():
        return _Fixtures(functions, "").figures

    @pytest.fixture
    def rng(request):
        return _Fixtures(functions, request.node.name).rng

    plugin = types.ModuleType("stock_kernel_fixtures")
    plugin.student, plugin.figures, plugin.rng = student, figures, rng
    return plugin


def run_hidden_tests(namespace: dict, test_file: str, tests: list[str]) -> None:
    """Run ``tests`` of ``test_file`` on the functions in ``namespace`` (the notebook's globals());
    raise AssertionError when one fails, which costs the test cell all its points."""
    with tempfile.TemporaryDirectory() as rootdir:
        status = pytest.main([*(f"{test_file}::{name}" for name in tests), "--rootdir", rootdir, "-c", os.devnull,
                              "--noconftest", "-p", "no:cacheprovider", "-q", "--no-header"],
                             plugins=[_kernel_fixtures(namespace)])
    if status != 0:
        raise AssertionError(f"hidden tests failed (pytest exit status {status})")
