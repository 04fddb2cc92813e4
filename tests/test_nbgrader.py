"""nbgrader 0.9.6 end to end: the course that `nnex nbgrader init` makes, and grading through it.

One course in a temporary folder holds every exercise; `nbgrader generate_assignment` makes every
student notebook. Exercise 01 then goes the whole way with real nbgrader: submissions of the
worked solution, the stub, a mutant of the catalogue and hostile notebooks, `nbgrader autograde`
(our preprocessor in place of Execute), `nbgrader export` and `nbgrader generate_feedback`; the
test reads nbgrader's gradebook. Exercise 02, whose tests draw pictures, goes the same way with the
worked solution, in the same nbgrader runs. The rest checks the preprocessor's outputs without nbgrader's
command line.
"""
from __future__ import annotations

import ast
import base64
import csv
import html
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import Execute
from nbgrader.utils import determine_grade

from grader import cli
from grader.generate import render_exercise
from grader.manifests import load_manifests
from grader.nbgrader import autograde
from grader.nbgrader.autograde import SandboxedGrading, is_test_cell, result_outputs
from grader.nbgrader.course import (AUTOGRADE_PREPROCESSORS, assignment_name, group_points, solved_notebook,
                                    source_notebook, group_cell_id)
from grader.paths import EXERCISES, ROOT

MANIFESTS = load_manifests()
EXERCISE = MANIFESTS["neuron_gradient"]
ASSIGNMENT = assignment_name(EXERCISE)
HOSTILE = ROOT / "tests" / "hostile"
MUTANT = "sigmoid_naive_exp"  # tests/catalogue/neuron_gradient/mutants.yaml: loses the sigmoid group's points
DRAWING = MANIFESTS["numpy_mlp"]  # its training test draws the decision regions
TIMEOUT_S = 600


def nbgrader_env(root: Path) -> dict:
    """nbgrader's environment: the venv's commands first (nbgrader runs alembic), Jupyter's folders private."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        env[name] = str(root / "jupyter" / name.lower())
    return env


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True,
                         timeout=TIMEOUT_S, env=nbgrader_env(course.parent))
    assert run.returncode == 0, f"nbgrader {' '.join(args)}:\n{run.stdout[-3000:]}\n{run.stderr[-6000:]}"
    return run


def hidden_source_lines(exercise) -> list[str]:
    """Lines of the hidden tests' code long enough to recognise, and in no file that is not secret."""
    public = {line.strip() for path in [exercise.solution_file, *exercise.exercise_dir.glob("*.py"),
                                        *EXERCISES.glob("*.py")]
              for line in path.read_text().splitlines()}
    return [line.strip() for line in exercise.hidden_test_file.read_text().splitlines()
            if len(line.strip()) > 30 and not line.strip().startswith(("#", '"')) and line.strip() not in public]


def mutate(code: str) -> str:
    mutant = next(m for m in yaml.safe_load((ROOT / "tests" / "catalogue" / EXERCISE.id / "mutants.yaml").read_text())
                  if m["name"] == MUTANT)
    for edit in mutant["replace"]:
        code = code.replace(edit["old"], edit["new"])
    return code


def with_cell(nb, code: str):
    nb = nbformat.from_dict(nb)
    nb.cells.append(nbformat.v4.new_code_cell(code))
    return nb


def tampered(nb):
    """Test cells deleted, edited to print full points, given more points and fake outputs."""
    nb = nbformat.from_dict(nb)
    tests = [cell for cell in nb.cells if is_test_cell(cell)]
    nb.cells.remove(tests[0])
    tests[1].source = "2.25"
    tests[2].metadata.nbgrader.points = 100.0
    tests[3].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "2.0"})]
    tests[4].source = ""
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course of every exercise; exercise 01 released, submitted, autograded, exported, fed back."""
    root = tmp_path_factory.mktemp("nbgrader")
    course = root / "course"
    assert cli.main(["nbgrader", "init", str(course)]) == 0
    nbgrader(course, "generate_assignment", "*")

    released = nbformat.read(course / "release" / ASSIGNMENT / f"{EXERCISE.module}.ipynb", as_version=4)
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{EXERCISE.module}.ipynb", as_version=4)
    submissions = {
        "solution": solved_notebook(released, source),
        "stub": released,
        "mutant": solved_notebook(released, source, mutate),
        "numpy_patched": with_cell(released, (HOSTILE / "numpy_comparisons_patched" / "attack.py").read_text()),
        "always_equal": with_cell(released, (HOSTILE / "always_equal_object" / "attack.py").read_text()),
        "exit_at_import": with_cell(solved_notebook(released, source), "import os\n\nos._exit(0)\n"),
        "tampered_cells": tampered(released),
    }
    for student, nb in submissions.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{EXERCISE.module}.ipynb")
    drawing = course / "submitted" / "solution" / assignment_name(DRAWING)
    drawing.mkdir(parents=True)
    notebooks = [course / folder / assignment_name(DRAWING) / f"{DRAWING.module}.ipynb" for folder in ("release", "source")]
    nbformat.write(solved_notebook(*(nbformat.read(path, as_version=4) for path in notebooks)),
                   drawing / f"{DRAWING.module}.ipynb")
    nbgrader(course, "autograde", "*")
    nbgrader(course, "export")
    nbgrader(course, "generate_feedback", "*")
    return course


@pytest.fixture(scope="module")
def gradebook(course):
    """student -> {grade cell -> (auto score, max score, needs manual grade)}."""
    grades = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in gb.students:
            notebook = gb.find_submission_notebook(EXERCISE.module, ASSIGNMENT, student.id)
            grades[student.id] = {g.name: (g.auto_score, g.max_score, g.needs_manual_grade) for g in notebook.grades}
    return grades


def autograded(grades: dict) -> float:
    return sum(score or 0 for name, (score, _, _) in grades.items() if name.startswith("tests-"))


def autograded_notebook(course: Path, student: str):
    return nbformat.read(course / "autograded" / student / ASSIGNMENT / f"{EXERCISE.module}.ipynb", as_version=4)


def feedback_text(course: Path, student: str) -> str:
    page = (course / "feedback" / student / ASSIGNMENT / f"{EXERCISE.module}.html").read_text()
    page = re.sub(r"<(style|script)\b.*?</\1>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


# ----------------------------------------------------------------------------- init, every exercise

@pytest.mark.parametrize("exercise_id", list(MANIFESTS))
def test_the_source_notebook_has_nbgrader_cells_worth_the_manifests_points(exercise_id):
    exercise = MANIFESTS[exercise_id]
    nb = source_notebook(exercise)
    MetadataValidator().validate_nb(nb)
    meta = [cell.metadata["nbgrader"] for cell in nb.cells]
    assert all(m["schema_version"] == 3 for m in meta)
    tests = {m["grade_id"]: m["points"] for cell, m in zip(nb.cells, meta) if is_test_cell(cell)}
    assert tests == {group_cell_id(name): points for name, points in group_points(exercise).items()}
    assert sum(tests.values()) == pytest.approx(exercise.max_score)
    for cell, m in zip(nb.cells, meta):
        answers = "### BEGIN SOLUTION" in cell.source
        if cell.cell_type == "code" and answers:       # autograded answer: the student's code
            assert (m["solution"], m["grade"], m["locked"]) == (True, False, False)
        elif answers:                                    # a written answer, graded by hand
            assert (m["solution"], m["grade"], m["locked"]) == (True, True, False) and m["points"] > 0
        elif not is_test_cell(cell):                     # the task text and the given code
            assert (m["solution"], m["grade"], m["locked"]) == (False, False, True)
    hidden = set(hidden_source_lines(exercise))
    assert not [line for cell in nb.cells for line in cell.source.splitlines() if line.strip() in hidden]


def test_exercise_01s_derivation_is_a_manually_graded_answer():
    nb = source_notebook(EXERCISE)
    derivation = next(cell for cell in nb.cells if "derivation" in cell.metadata.get("tags", []))
    assert derivation.cell_type == "markdown"
    assert derivation.metadata["nbgrader"] | {"points": 0} == {
        "grade": True, "solution": True, "locked": False, "task": False, "schema_version": 3,
        "grade_id": "answer-derivation", "points": 0}


def test_each_test_cell_follows_the_cell_that_defines_what_it_tests():
    nb = source_notebook(EXERCISE)
    ids = [cell.metadata["nbgrader"]["grade_id"] for cell in nb.cells]
    assert ids.index("tests-sigmoid") == ids.index("solution-sigmoid") + 1
    assert ids.index("tests-gradient_descent") == ids.index("solution-gradient_descent") + 1


def test_the_configuration_is_nbgraders_autograde_with_execute_replaced():
    defaults = Autograde.class_traits()["autograde_preprocessors"].default()
    assert list(AUTOGRADE_PREPROCESSORS) == [
        "SandboxedGrading" if p is Execute else p.__name__ for p in defaults]
    assert SandboxedGrading().enabled  # nbgrader runs a preprocessor only when it is enabled


def test_init_keeps_a_configuration_it_did_not_write(tmp_path, capsys):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    assert cli.main(["nbgrader", "init", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / "nbgrader_config.py").read_text() == "c = get_config()\n"
    assert cli.main(["nbgrader", "init", str(tmp_path), "--force", "--exercise", EXERCISE.id]) == 0
    assert "SandboxedGrading" in (tmp_path / "nbgrader_config.py").read_text()
    assert [p.name for p in (tmp_path / "source").iterdir()] == [ASSIGNMENT]


@pytest.mark.parametrize("exercise_id", list(MANIFESTS))
def test_generate_assignment_gives_the_stubs_and_public_checks_without_hidden_tests(course, exercise_id):
    exercise = MANIFESTS[exercise_id]
    folder = course / "release" / assignment_name(exercise)
    released = nbformat.read(folder / f"{exercise.module}.ipynb", as_version=4)
    student = nbformat.reads(render_exercise(exercise)[exercise.exercise_dir / f"{exercise.module}.ipynb"],
                             as_version=4)
    # every cell but the test cells is the generated student notebook's: the same stubs
    # (the nbgrader notebook has its graded test cells in place of the self-check's check cells)
    assert [c.source for c in released.cells if not is_test_cell(c)] == \
        [c.source for c in student.cells if "nnex-check" not in c.metadata.get("tags", [])]
    tests = [c for c in released.cells if is_test_cell(c)]
    assert [c.metadata["nbgrader"]["grade_id"] for c in tests] == [group_cell_id(g["name"]) for g in exercise.groups]
    public = {name for path in exercise.public_test_files for name in re.findall(r"^def (test_\w+)", path.read_text(), re.M)}
    called = {name for c in tests for name in re.findall(r"'(test_\w+)'", c.source)}
    assert called <= public and (called or not public)
    hidden = set(hidden_source_lines(exercise))
    text = "\n".join(path.read_text() for path in folder.iterdir() if path.suffix in (".py", ".ipynb"))
    assert not [line for line in text.splitlines() if line.strip() in hidden]
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert not (folder / exercise.hidden_test_file.name).exists()


def test_the_released_test_cells_run_the_public_tests_in_the_students_kernel(course, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    folder = course / "release" / ASSIGNMENT
    released = nbformat.read(folder / f"{EXERCISE.module}.ipynb", as_version=4)
    solved = solved_notebook(released, nbformat.read(course / "source" / ASSIGNMENT / f"{EXERCISE.module}.ipynb",
                                                     as_version=4))
    for done, stub in zip(solved.cells, released.cells):  # only the sigmoid is done
        if done.metadata["nbgrader"]["grade_id"] != "solution-sigmoid":
            done.source = stub.source
    NotebookClient(solved, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    cells = {cell.metadata["nbgrader"]["grade_id"]: cell for cell in solved.cells}
    passed = "".join(o.get("text", "") for o in cells["tests-sigmoid"].outputs)
    assert passed == "passed 2 public tests\n"  # one line: no pytest report, no warning
    failed = cells["tests-forward_and_loss"].outputs
    # what nbgrader validate shows: the first failing check, in a line or two, without the kernel's globals
    assert len(failed) == 1 and failed[0].output_type == "error" and failed[0].ename == "AssertionError"
    assert failed[0].evalue.startswith("test_") and "is not written yet: it raises NotImplementedError" in failed[0].evalue
    assert len(failed[0].evalue.splitlines()) <= 3 and "namespace(" not in str(failed[0].traceback)


# ----------------------------------------------------------------------------- exercise 01 round trip

def results_shown(course: Path, student: str) -> str:
    """What the test cells of a student's autograded notebook say, for a failure's message."""
    return "\n".join(f"{cell.metadata['nbgrader']['grade_id']}: {output.get('traceback') or output.get('text') or output.get('data')}"
                     for cell in autograded_notebook(course, student).cells if is_test_cell(cell)
                     for output in cell.outputs)


def test_autograde_gives_full_zero_partial_and_zero_points(course, gradebook):
    points = group_points(EXERCISE)
    solution = gradebook["solution"]
    assert autograded(solution) == EXERCISE.max_score, results_shown(course, "solution")
    assert all(solution[group_cell_id(g)][0] == p for g, p in points.items())
    assert autograded(gradebook["stub"]) == 0
    assert 0 < autograded(gradebook["mutant"]) < EXERCISE.max_score, results_shown(course, "mutant")
    assert gradebook["mutant"]["tests-sigmoid"][0] < points["sigmoid"]
    for student in ("numpy_patched", "always_equal", "exit_at_import", "tampered_cells"):
        assert autograded(gradebook[student]) == 0, student
    # the written derivation waits for a person; an untouched answer is 0 without one
    assert solution["answer-derivation"][0] is None and solution["answer-derivation"][2]
    auto_score, _, needs_person = gradebook["stub"]["answer-derivation"]
    assert (auto_score, needs_person) == (0, False)


def test_every_student_was_graded_and_exported(course, gradebook):
    rows = {row["student_id"]: row for row in csv.DictReader((course / "grades.csv").open())
            if row["assignment"] == ASSIGNMENT}
    assert set(rows) == set(gradebook) == {p.name for p in (course / "submitted").iterdir()}
    for student, grades in gradebook.items():
        assert all(grades[group_cell_id(g)][0] is not None for g in group_points(EXERCISE)), student
        assert float(rows[student]["raw_score"]) == pytest.approx(autograded(grades))


def test_every_test_cell_got_an_explicit_result(course, gradebook):
    for student in gradebook:
        nb = autograded_notebook(course, student)
        tests = [cell for cell in nb.cells if is_test_cell(cell)]
        assert len(tests) == len(EXERCISE.groups), student  # deleted test cells are back
        for cell in tests:
            kinds = [output.output_type for output in cell.outputs]
            assert kinds in (["error"], ["stream", "execute_result"]), (student, kinds)


def test_feedback_shows_points_and_our_messages_never_hidden_test_source(course, gradebook):
    hidden = hidden_source_lines(EXERCISE)
    for student in gradebook:
        text = feedback_text(course, student)
        for group in EXERCISE.groups:
            assert f"{group['title']}: " in text and "points" in text
        assert [line for line in hidden if line in text] == [], student
    mutant = feedback_text(course, "mutant")
    assert "A stable sigmoid and its derivative: " in mutant and "Likely mistake: Sigmoid overflow" in mutant
    assert "Score: 0.0 / 2.25" in feedback_text(course, "stub")
    assert "NotImplementedError" in feedback_text(course, "stub")
    assert "importing neuron.py failed" in feedback_text(course, "exit_at_import")


def test_the_pictures_the_tests_drew_are_in_the_test_cell_and_the_feedback(course):
    folder = assignment_name(DRAWING)
    nb = nbformat.read(course / "autograded" / "solution" / folder / f"{DRAWING.module}.ipynb", as_version=4)
    images = {cell.metadata["nbgrader"]["grade_id"]: [o for o in cell.outputs if "image/png" in o.get("data", {})]
              for cell in nb.cells if is_test_cell(cell)}
    training = next(g["name"] for g in DRAWING.groups
                    if "test_train_reaches_accuracy_on_held_out_points" in [t["test"] for t in g["tests"]])
    assert [len(found) for found in images.values()] == [1 if name == group_cell_id(training) else 0 for name in images]
    (image,) = images[group_cell_id(training)]
    assert base64.b64decode(image.data["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.data["text/plain"] == "moons"
    page = (course / "feedback" / "solution" / folder / f"{DRAWING.module}.html").read_text()
    assert page.count('src="data:image/png;base64,') == 1 and image.data["image/png"] in page


# ----------------------------------------------------------------------------- the outputs, as nbgrader reads them

def graded_cell(outputs, points=2.0):
    cell = nbformat.v4.new_code_cell("pass")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": points,
                                 "grade_id": "tests-x", "schema_version": 3}
    cell.outputs = outputs
    return cell


@pytest.mark.parametrize("score, expected", [(2.0, 2.0), (0.75, 0.75), (1e-4, 1e-4), (0.0, 0.0), (-1.0, 0.0)])
def test_nbgrader_reads_our_outputs_as_the_score(score, expected):
    outputs = result_outputs(score, 2.0, "Part", ["test_x (0 of 1): wrong"] if score < 2 else [])
    assert determine_grade(graded_cell(outputs))[0] == expected
    assert (outputs[0].output_type == "error") == (expected == 0)


def notebook_with_test_cells():
    nb = source_notebook(EXERCISE)
    return nb, [cell for cell in nb.cells if is_test_cell(cell)]


def test_an_unknown_assignment_gives_every_test_cell_an_error():
    nb, tests = notebook_with_test_cells()
    SandboxedGrading().preprocess(nb, {"nbgrader": {"assignment": "ps9", "notebook": EXERCISE.module}})
    for cell in tests:
        assert [o.output_type for o in cell.outputs] == ["error"]
        assert "no nn-exercises exercise is assignment 'ps9'" in "\n".join(cell.outputs[0].traceback)
        assert determine_grade(cell)[0] == 0


def test_a_crash_of_the_engine_gives_every_test_cell_an_error(monkeypatch):
    def crash(exercise, nb):
        raise RuntimeError("the judge server stopped")

    monkeypatch.setattr(autograde, "grade_notebook", crash)
    nb, tests = notebook_with_test_cells()
    SandboxedGrading().preprocess(nb, {"nbgrader": {"assignment": ASSIGNMENT, "notebook": EXERCISE.module}})
    for cell in tests:
        assert "internal grader error: RuntimeError: the judge server stopped" in cell.outputs[0].traceback[1]
        assert determine_grade(cell)[0] == 0


def test_the_students_code_leaves_out_the_test_cells():
    nb, tests = notebook_with_test_cells()
    kept = autograde.student_notebook(nb).cells
    assert len(kept) == len(nb.cells) and not any(is_test_cell(c) for c in kept)  # numbered as the student's
    code = "\n".join(c.source for c in kept if c.cell_type == "code")
    assert "run_public_tests" not in code
    ast.parse("\n".join(line for line in code.splitlines() if "###" not in line))
