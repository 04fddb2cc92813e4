"""Self-check: run an exercise's public tests against your own file, in this process.

    pytest 01_neuron_gradient                      # tests the neuron.py beside the tests
    pytest 01_neuron_gradient --submission DIR     # tests DIR/neuron.py instead

Each test module names the file it tests in ``STUDENT_MODULE``. The grader runs these same tests,
with ``student`` standing for your code running in a sandbox.
"""
import importlib.util
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest


def pytest_addoption(parser):
    parser.addoption("--submission", default=None, metavar="DIR",
                     help="folder that holds the student file to test (default: the test's folder)")


@pytest.fixture(scope="module")
def student(request):
    """The student's module, imported from the submission folder."""
    module_name = request.module.STUDENT_MODULE
    exercise_dir = Path(request.module.__file__).parent
    folder = Path(request.config.getoption("--submission") or exercise_dir).resolve()
    path = folder / f"{module_name}.py"
    if not path.is_file():
        pytest.fail(f"no {module_name}.py in {folder}")
    for directory in (str(exercise_dir), str(folder)):  # support modules, then the student's folder
        if directory not in sys.path:
            sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def rng(request):
    """A generator seeded from the test's name: the same inputs on every run, different per test."""
    return np.random.default_rng(zlib.crc32(request.node.name.encode()))


class _NoFigures:
    """The grader draws pictures for its feedback files; a self-check has no use for them."""

    def add(self, name, draw):
        pass


@pytest.fixture(scope="session")
def figures():
    return _NoFigures()
