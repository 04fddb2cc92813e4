"""The students' bundle (`nnex release`) used as its README says: set up, self-check, notebooks.

In CI, the bundle's self-check runs with this project's environment: pytest inside an exercise
folder, at the bundle's root and on a notebook; a notebook with its check cells executes
headlessly. With NNEX_FULL_BUNDLE=1, a fresh virtual environment is made from the README's one
setup command (about two minutes: Jupyter and PyTorch), and every exercise is checked in it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import nbformat
import pytest

from grader import cli
from grader.generate import render_notebook
from grader.manifests import load_manifests
from grader.nbgrader.course import without_hidden_tests
from tests.test_catalogue import mutants, mutate

MANIFESTS = load_manifests()
FULL = os.environ.get("NNEX_FULL_BUNDLE") == "1"
full_only = pytest.mark.skipif(not FULL, reason="makes a fresh environment (minutes): NNEX_FULL_BUNDLE=1")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "students"
    assert cli.main(["release", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def python(bundle, tmp_path_factory):
    """The interpreter of the self-check: a fresh environment made by the README's command
    (NNEX_FULL_BUNDLE=1), else this project's."""
    if not FULL:
        return sys.executable
    env_dir = tmp_path_factory.mktemp("venv") / ".venv"
    venv.create(env_dir, with_pip=True)
    command = setup_command(bundle)
    assert command == "python -m pip install -r requirements.txt"
    binary = env_dir / "bin"
    # the machine that runs the tests may be offline: the CPU index is tried once, then the local wheels
    done = subprocess.run(command, shell=True, cwd=bundle, capture_output=True, text=True, timeout=1200,
                          env=dict(os.environ, PATH=f"{binary}{os.pathsep}{os.environ['PATH']}", PIP_RETRIES="0"))
    assert done.returncode == 0, done.stderr[-3000:]
    return str(binary / "python")


def setup_command(bundle: Path) -> str:
    """The README's one setup command (the first command of its Setup section)."""
    setup = (bundle / "README.md").read_text().split("## Setup", 1)[1]
    return re.search(r"```bash\n(.+?)\n```", setup, re.S).group(1).strip()


def self_check(python, folder: Path, *args, timeout=600):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run([python, "-m", "pytest", *args], cwd=folder, capture_output=True, text=True,
                          timeout=timeout, env=env)


def solve(bundle: Path, exercise) -> Path:
    """The exercise's folder in ``bundle`` with the worked solution in place of the stub."""
    folder = bundle / "exercises" / exercise.folder
    shutil.copyfile(exercise.solution_file, folder / exercise.student_file)
    return folder


def test_the_requirements_hold_what_the_self_check_and_notebooks_need_with_pytorch_for_the_cpu(bundle):
    requirements = (bundle / "requirements.txt").read_text().splitlines()
    assert setup_command(bundle) == "python -m pip install -r requirements.txt"
    names = {re.split(r"[<>=\[ ]", line)[0] for line in requirements if line and not line.startswith(("#", "-"))}
    assert {"numpy", "torch", "pytest", "matplotlib", "jupyter"} <= names
    assert "torch==2.13.0" in requirements  # the version the grader runs
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements  # its CPU build
    assert "cu1" in (bundle / "README.md").read_text()  # the documented way to a CUDA build


def test_pytest_in_an_exercise_folder_fails_on_the_stub_saying_what_to_write(bundle, python):
    for exercise in MANIFESTS.values() if FULL else [MANIFESTS["neuron_gradient"]]:
        folder = bundle / "exercises" / exercise.folder
        done = self_check(python, folder)
        assert done.returncode == 1, done.stdout[-3000:]
        assert f"is not written yet: it raises NotImplementedError (fill in its # YOUR CODE HERE in " \
               f"{exercise.student_file})" in done.stdout
        assert "Traceback" not in done.stdout and "nnex_check.py" not in done.stdout


def test_pytest_passes_on_the_solutions_in_each_folder_and_from_the_root(bundle, python):
    for exercise in MANIFESTS.values():
        solve(bundle, exercise)
    if FULL:
        for exercise in MANIFESTS.values():
            done = self_check(python, bundle / "exercises" / exercise.folder)
            assert done.returncode == 0, done.stdout[-3000:]
    done = self_check(python, bundle)
    assert done.returncode == 0, done.stdout[-3000:]
    assert re.search(rf"\b{sum(len(e.public_tests) for e in MANIFESTS.values())} passed", done.stdout)


def test_a_mutant_fails_in_a_few_lines_with_its_numbers_and_hint(bundle, python):
    exercise = MANIFESTS["neuron_gradient"]
    mutant = next(m for m in mutants(exercise.id) if m["mistake"] == "mse_sum_not_mean")
    folder = bundle / "exercises" / exercise.folder
    (folder / exercise.student_file).write_text(mutate(exercise.solution_file.read_text(), mutant))
    done = self_check(python, folder, "-k", "test_mse_loss_known_value")
    failure = done.stdout.split(" FAILURES ")[1].split(" short test summary ")[0].strip().splitlines()
    assert done.returncode == 1 and 3 <= len(failure) <= 12, done.stdout
    hint = " ".join(exercise.mistakes["mse_sum_not_mean"].split())
    assert "Likely mistake: " + hint[:60] in done.stdout and "[mistake:" not in done.stdout
    assert re.search(r"got -?\d", done.stdout)  # the numbers that show what went wrong
    done = self_check(python, folder, "-k", "test_mse_loss_known_value", "--tb=long")  # pytest's own report
    assert done.returncode == 1 and "test_neuron.py" in done.stdout and "nnex_check.py" not in done.stdout


def test_pytest_on_a_notebook_tests_its_code(bundle, python, tmp_path):
    exercise = MANIFESTS["neuron_gradient"]
    folder = bundle / "exercises" / exercise.folder
    shutil.copyfile(folder / f"{exercise.module}.ipynb", tmp_path / "stub.ipynb")
    notebook = solved_notebook(exercise)
    # IPython's syntax, as a student may leave it: never run, never in the way
    notebook.cells.insert(1, nbformat.v4.new_code_cell("files = !ls\n%matplotlib inline\ndisplay(files)"))
    nbformat.write(notebook, folder / f"{exercise.module}.ipynb")
    (folder / exercise.student_file).write_text("raise SystemExit('the .py file is not what is tested')\n")
    done = self_check(python, folder, f"{exercise.module}.ipynb")
    assert done.returncode == 0 and f"{len(exercise.public_tests)} passed" in done.stdout, done.stdout[-3000:]
    shutil.copyfile(tmp_path / "stub.ipynb", folder / f"{exercise.module}.ipynb")
    done = self_check(python, folder, "--notebook")
    assert done.returncode == 1 and "is not written yet" in done.stdout, done.stdout[-3000:]


def solved_notebook(exercise, edit=lambda text: text) -> nbformat.NotebookNode:
    """The released notebook with the worked solution (passed through ``edit``) in its cells."""
    text = without_hidden_tests(edit(exercise.solution_file.read_text(encoding="utf-8")))
    return nbformat.reads(render_notebook(text, exercise), as_version=4)


def run_notebook(notebook, folder: Path, tmp_path: Path, python) -> nbformat.NotebookNode:
    """``notebook`` executed headlessly in ``folder``, with Jupyter's and IPython's settings in ``tmp_path``."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON", "MPL"))},
           "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter"), "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"), "IPYTHONDIR": str(tmp_path / "ipython"),
           "MPLCONFIGDIR": str(tmp_path / "mpl"), "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    path = tmp_path / "notebook.ipynb"
    nbformat.write(notebook, path)
    script = ("import sys, nbformat\nfrom nbclient import NotebookClient\n"
              "nb = nbformat.read(sys.argv[1], as_version=4)\n"
              "NotebookClient(nb, timeout=600, kernel_name='python3', allow_errors=True,"
              " resources={'metadata': {'path': sys.argv[2]}}).execute()\n"
              "nbformat.write(nb, sys.argv[1])\n")
    done = subprocess.run([python, "-c", script, str(path), str(folder)], capture_output=True, text=True,
                          timeout=900, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return nbformat.read(path, as_version=4)


def check_outputs(notebook) -> dict[str, str]:
    """The text each check cell printed, by its source's last line."""
    return {cell.source.splitlines()[-1]: "".join(o.get("text", "") or str(o.get("evalue", "")) for o in cell.outputs)
            for cell in notebook.cells if "nnex-check" in cell.metadata.get("tags", [])}


def test_a_solved_notebook_passes_every_check_cell_and_a_mutant_gets_its_hint(bundle, python, tmp_path):
    exercises = MANIFESTS.values() if FULL else [MANIFESTS["neuron_gradient"]]
    for exercise in exercises:
        folder = bundle / "exercises" / exercise.folder
        executed = run_notebook(solved_notebook(exercise), folder, tmp_path, python)
        outputs = check_outputs(executed)
        assert len(outputs) == len(exercise.groups and {g for g in outputs}) >= 2
        assert all("passed" in text and "not yet" not in text for text in outputs.values()), outputs
        assert "check_all()" in outputs
        assert all(any("image/png" in output.get("data", {}) for output in cell.outputs)
                   for cell in executed.cells if cell.cell_type == "code" and "show(" in cell.source), exercise.id
    exercise = MANIFESTS["neuron_gradient"]
    mutant = next(m for m in mutants(exercise.id) if m["mistake"] == "mse_sum_not_mean")
    notebook = solved_notebook(exercise, lambda text: mutate(text, mutant))
    outputs = check_outputs(run_notebook(notebook, bundle / "exercises" / exercise.folder, tmp_path, python))
    failing = [text for cell, text in outputs.items() if "not yet" in text and cell != "check_all()"]
    hint = " ".join(exercise.mistakes["mse_sum_not_mean"].split())
    assert failing and "Likely mistake: " + hint[:60] in failing[0], outputs
    assert all(len(text.splitlines()) <= 8 for text in failing), failing


DRAWS = re.compile(r"\bplot_\w+\(")
SHOW_BOTH_WAYS = """\
import importlib.util, json, os, sys
from matplotlib.figure import Figure
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

supports = []
for path in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    supports.append(importlib.util.module_from_spec(spec))
    spec.loader.exec_module(supports[-1])
for support in supports:  # as a script: the picture goes to its file
    support.show(Figure(), support.__name__ + ".png")
    print(json.dumps([support.__name__, "script", os.path.exists(support.__name__ + ".png")]))
InteractiveShell.instance()
for support in supports:  # in IPython: shown, no file
    with capture_output() as captured:
        support.show(Figure(), support.__name__ + "-inline.png")
    print(json.dumps([support.__name__, "ipython", [sorted(o.data) for o in captured.outputs],
                      os.path.exists(support.__name__ + "-inline.png")]))
"""


def test_every_picture_of_a_released_notebook_is_shown_inline_and_saved_when_run_as_a_script(bundle, tmp_path):
    supports = []
    for exercise in MANIFESTS.values():
        folder = bundle / "exercises" / exercise.folder
        code = [cell.source for cell in nbformat.read(folder / f"{exercise.module}.ipynb", as_version=4).cells
                if cell.cell_type == "code"]
        assert not any(".savefig(" in source for source in code), exercise.id  # a file, nothing to see
        drawing = [source for source in code if DRAWS.search(source)]
        assert all("show(" in source for source in drawing), exercise.id
        if drawing:
            supports.append(str(folder / f"{exercise.module}_support.py"))
    assert len(supports) == 5  # every exercise but the first draws pictures
    done = subprocess.run([sys.executable, "-c", SHOW_BOTH_WAYS, *supports], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=dict(os.environ, MPLCONFIGDIR=str(tmp_path / "mpl")))
    assert done.returncode == 0, done.stderr[-3000:]
    shown = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("[")]
    assert [s[2] for s in shown if s[1] == "script"] == [True] * 5, shown
    assert [s[2:] for s in shown if s[1] == "ipython"] == [[[["image/png", "text/plain"]], False]] * 5, shown
