"""Self-check: the pytest plugin that runs an exercise's public tests on your own code, in this process.

    pytest                                  # in an exercise's folder: tests the .py file beside the tests
    pytest attention.ipynb                  # tests the notebook instead (its code cells, in order)
    pytest --notebook                       # the same, for every exercise collected
    pytest 01_neuron_gradient --submission DIR_OR_FILE    # tests DIR/neuron.py, or that .py or .ipynb

Each test module names the file it tests in ``STUDENT_MODULE``; a folder without that .py but with
the notebook tests the notebook. A failure shows what was wrong, with its numbers, and the hint
of the mistake it looks like, in a few lines. The grader runs these same tests, and hidden ones,
with ``student`` standing for your code running in a sandbox.
"""
import importlib.util
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # nnex_check and nnex_selfcheck, wherever pytest is started
    sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nnex_selfcheck import explain, load_self_check, notebook_module  # noqa: E402


def pytest_addoption(parser):
    group = parser.getgroup("nnex", "self-check of the exercises")
    group.addoption("--submission", default=None, metavar="PATH",
                    help="the student file to test (.py or .ipynb), or the folder that holds it "
                         "(default: the test's folder)")
    group.addoption("--notebook", action="store_true",
                    help="test the exercise's notebook (.ipynb) instead of its .py file")


def pytest_collect_file(file_path, parent):
    """A notebook named on the command line (``pytest attention.ipynb``) runs its folder's public tests."""
    if file_path.suffix == ".ipynb" and file_path in _named_paths(parent.config):
        return Notebook.from_parent(parent, path=file_path)
    return None


def _named_paths(config) -> set:
    return {Path(config.invocation_params.dir, arg.split("::")[0]).resolve() for arg in config.args}


class Notebook(pytest.File):
    """A student's notebook: the public tests of its folder, run on its code."""

    def collect(self):
        for path in sorted(self.path.parent.glob("test_*.py")):
            if f'STUDENT_MODULE = "{self.path.stem}"' in path.read_text(encoding="utf-8"):
                yield pytest.Module.from_parent(self, path=path)


def _student_path(request) -> Path:
    module_name = request.module.STUDENT_MODULE
    exercise_dir = Path(request.module.__file__).parent
    given = request.config.getoption("--submission")
    path = Path(given).resolve() if given else exercise_dir
    if path.is_dir():
        notebook = request.node.getparent(Notebook) is not None or request.config.getoption("--notebook")
        py, ipynb = path / f"{module_name}.py", path / f"{module_name}.ipynb"
        path = ipynb if notebook or (not py.is_file() and ipynb.is_file()) else py
    if not path.is_file():
        pytest.fail(f"no {path.name} in {path.parent}", pytrace=False)
    return path


@pytest.fixture(scope="module")
def student(request):
    """The student's module, imported from their .py file or run from their notebook."""
    module_name = request.module.STUDENT_MODULE
    exercise_dir = Path(request.module.__file__).parent
    path = _student_path(request)
    for directory in (str(exercise_dir), str(path.parent)):  # support modules, then the student's folder
        if directory not in sys.path:
            sys.path.insert(0, directory)
    if path.suffix == ".ipynb":
        module = notebook_module(path, module_name)
    else:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    sys.modules[module_name] = module
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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed public test reads as a few lines: where, what was wrong, the hint of the mistake."""
    report = yield
    module = getattr(item, "module", None)
    if report.failed and call.excinfo is not None and hasattr(module, "STUDENT_MODULE") \
            and item.config.option.tbstyle != "long":
        folder = Path(module.__file__).parent
        hints = load_self_check(folder).get("hints", {})
        lines = explain(call.excinfo.value, hints, f"{module.STUDENT_MODULE}.py")
        test_frame = next((entry for entry in reversed(call.excinfo.traceback)
                           if Path(str(entry.path)) == Path(module.__file__)), None)
        where = f"{Path(module.__file__).name}:{test_frame.lineno + 1}" if test_frame else item.nodeid
        report.longrepr = "\n".join([f"{where}: {item.name} failed", *("  " + line for line in lines)])
    return report
