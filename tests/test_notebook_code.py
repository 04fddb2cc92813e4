"""A graded notebook runs as Jupyter would run it: IPython's syntax translated by IPython, magics and
shell escapes never run, ``display`` at hand, the released notebook's check cells left out, and a
syntax error named by its cell."""
import json
import subprocess
import sys
import time

import nbformat
import pytest

from grader.generate import render_notebook
from grader.manifests import load_manifests
from grader.nbgrader.course import without_hidden_tests
from grader.paths import ROOT
from grader.submissions import SubmissionError, student_code

EXERCISE = load_manifests()["neuron_gradient"]


def grade(*submissions, out):
    done = subprocess.run([sys.executable, "-m", "grader", "grade", *map(str, submissions), "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return {s["id"]: s["exercises"][0] for s in json.loads(out.read_text())["submissions"]}


def test_a_released_notebook_with_shell_escapes_and_display_grades_like_the_plain_code(tmp_path):
    solution = without_hidden_tests(EXERCISE.solution_file.read_text(encoding="utf-8"))
    notebook = nbformat.reads(render_notebook(solution, EXERCISE), as_version=4)  # with its check cells
    notebook.cells[1:1] = [nbformat.v4.new_code_cell("files = !ls\nprint(len(files))"),
                           nbformat.v4.new_code_cell("x = 3\ndisplay(x)\n%time y = x + 1")]
    (tmp_path / "notebook").mkdir()
    (tmp_path / "plain").mkdir()
    nbformat.write(notebook, tmp_path / "notebook" / "neuron.ipynb")
    (tmp_path / "plain" / "neuron.py").write_text(solution)
    results = grade(tmp_path / "notebook", tmp_path / "plain", out=tmp_path / "r.json")
    with_ipython, plain = results["notebook"], results["plain"]
    assert with_ipython["score"] == plain["score"] == EXERCISE.max_score, with_ipython
    assert [t["passed"] for t in with_ipython["tests"]] == [t["passed"] for t in plain["tests"]]
    assert "'files = !ls' was not run" in with_ipython["message"]


def test_magics_become_calls_that_do_nothing(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "files = !ls /\nlisting = %sx ls\n%time z = 1\ndisplay(files)\ndef f():\n    return files, listing")])
    nbformat.write(notebook, tmp_path / "neuron.ipynb")
    code, notes, _ = student_code(tmp_path / "neuron.ipynb")
    namespace = {}
    exec(compile(code, "neuron.py", "exec"), namespace)
    assert namespace["f"]() == ([], []) and "z" not in namespace
    assert len(notes) == 3 and all("was not run" in note for note in notes)


def test_a_syntax_error_names_the_notebook_cell(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Task"),
                                               nbformat.v4.new_code_cell("import math"),
                                               nbformat.v4.new_code_cell("x = 1\ndef f(:\n    pass")])
    nbformat.write(notebook, tmp_path / "neuron.ipynb")
    with pytest.raises(SubmissionError, match=r"neuron.ipynb: In \[3\], line 2: "):
        student_code(tmp_path / "neuron.ipynb")


def test_an_error_at_run_time_names_the_notebook_cell_and_its_line(tmp_path):
    solution = without_hidden_tests(EXERCISE.solution_file.read_text(encoding="utf-8"))
    broken = solution.replace("def sigmoid(z):\n", "def sigmoid(z):\n    files = !ls\n    z = z + undefined_name\n", 1)
    assert broken != solution
    notebook = nbformat.reads(render_notebook(broken, EXERCISE), as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell("x = 3\ndisplay(x)"))  # IPython's lines ahead of the cells
    (tmp_path / "notebook").mkdir()
    nbformat.write(notebook, tmp_path / "notebook" / "neuron.ipynb")
    cell, line = next((number, lines.index("    z = z + undefined_name") + 1)
                      for number, cell in enumerate(notebook.cells, start=1)
                      if "undefined_name" in cell.source for lines in [cell.source.splitlines()])
    result = grade(tmp_path / "notebook", out=tmp_path / "r.json")["notebook"]
    messages = json.dumps(result)
    assert f"In [{cell}], line {line}, in sigmoid" in messages, messages[:3000]
    assert "neuron.py, line" not in messages


def _code_of(tmp_path, *cells):
    path = tmp_path / "neuron.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), path)
    return student_code(path)


def test_a_timed_cell_defines_its_functions_as_in_jupyter(tmp_path):
    code, notes, origins = _code_of(tmp_path, "\n%%time\ndef f(x):\n    return x + 1\n", "%%bash\necho hi\n")
    namespace = {}
    exec(code, namespace)
    assert namespace["f"](1) == 2 and "echo" not in code
    assert notes == ["neuron.ipynb: cell 1: cell magic '%%time' was not run, its Python was",
                     "neuron.ipynb: cell 2: cell magic '%%bash' was not run"]
    assert origins[code.splitlines().index("def f(x):") + 1] == (1, 3)  # the body keeps its lines


def test_a_cell_of_many_lines_and_magics_costs_the_grader_little(tmp_path):
    # IPython re-reads a whole cell per magic it translates: 399 of them in a cell of 10,000 lines
    # took a minute of the grader's time
    started = time.perf_counter()
    code, _, _ = _code_of(tmp_path, "!ls\n" * 399 + "x = 1\n" * 10_000)
    assert time.perf_counter() - started < 5
    assert code.count("get_ipython().system('ls')") == 399 and code.count("x = 1") == 10_000


def test_a_notebook_of_more_magics_than_any_course_needs_is_refused_before_translation(tmp_path):
    started = time.perf_counter()
    with pytest.raises(SubmissionError, match=r"neuron.ipynb holds 200000 magics and shell escapes, over 10000"):
        _code_of(tmp_path, "!l\n" * 200_000)
    assert time.perf_counter() - started < 5
