"""An nbgrader course made from the exercises: ``nnex nbgrader init COURSE_DIR``.

For every exercise (every manifest) the course gets one assignment, named like the exercise's
folder, whose source notebook is made from the single source solutions/<folder>/<student_file>
(jupytext percent format, nbgrader's markers) and the manifest, with nbgrader's cell metadata
(schema 3):

- a code cell with a ``### BEGIN SOLUTION`` region: an autograded answer (solution) cell;
- a markdown cell with such a region (a written derivation): a manually graded answer cell;
- every other cell of the source: read-only (locked), the task text among them;
- one autograder test cell per test group of the manifest, worth the group's points, placed after
  the cell that defines the last function its tests call. Its code only runs the group's public
  tests in the student's kernel (exercises/nnex_notebook.py); the grade comes from the sandboxed
  grader, which nbgrader runs in place of Execute (autograde.py). No hidden test is in it.

Beside the notebook: the exercise's public tests, support modules and self_check.json (the
mistakes' hints), nnex_check.py, nnex_selfcheck.py and nnex_notebook.py, so that the released notebook runs its test cells. nbgrader_config.py replaces
Execute by our preprocessor and has nbgrader put back test cells that a student deleted.
"""
from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import jupytext
import nbformat

from grader.generate import KERNELSPEC
from grader.paths import EXERCISES

ANSWER_POINTS = 2.0  # a written answer (graded by hand), beyond the manifest's autograded points
TEST_CELL_PREFIX = "tests-"
SOLUTION_MARKER = "### BEGIN SOLUTION"
_HIDDEN_MARKER = re.compile(r"^[ \t]*(?:#[ \t]*)?### (?P<edge>BEGIN|END) HIDDEN TESTS[ \t]*$")
STUDENT_HELPERS = ("nnex_check.py", "nnex_selfcheck.py", "nnex_notebook.py")  # from exercises/, beside every notebook

AUTOGRADE_PREPROCESSORS = (  # nbgrader 0.9.6's Autograde.autograde_preprocessors, Execute replaced
    "SandboxedGrading", "IgnorePattern", "ClearMetadataPreprocessor", "LimitOutput", "SaveAutoGrades",
    "AssignLatePenalties", "CheckCellMetadata")

CONFIG = '''\
"""nbgrader configuration of the course {course_id!r}, written by `nnex nbgrader init`.

Run nbgrader from this folder: nbgrader generate_assignment ASSIGNMENT, nbgrader autograde
ASSIGNMENT, nbgrader generate_feedback ASSIGNMENT. Autograding does not execute the notebooks:
nn-exercises' grader (SandboxedGrading) takes the student's code out of each notebook, grades it
in a sandbox with the public and hidden tests, and writes each test cell's result as its output;
nbgrader's SaveAutoGrades then records the points.
"""
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern,
                                    LimitOutput, SaveAutoGrades)

from grader.nbgrader.autograde import SandboxedGrading

c = get_config()  # noqa: F821 (nbgrader defines it when it loads this file)
c.CourseDirectory.course_id = {course_id!r}
c.Autograde.autograde_preprocessors = [{preprocessors}]
# a test cell that a student deleted is put back, so that it gets a result too
c.OverwriteCells.add_missing_cells = True
'''


def assignment_name(exercise) -> str:
    """The nbgrader assignment of an exercise: its folder's name, e.g. 01_neuron_gradient."""
    return exercise.folder


def group_cell_id(group_name: str) -> str:
    return TEST_CELL_PREFIX + group_name


def group_points(exercise) -> dict[str, float]:
    """Test group name -> its points: the sum of its tests' points in the manifest."""
    points: dict[str, float] = {}
    for test in exercise.tests:
        points[test.group] = points.get(test.group, 0.0) + test.points
    return points


def without_hidden_tests(text: str) -> str:
    """``text`` without its ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` regions."""
    kept, hidden = [], False
    for line in text.splitlines(keepends=True):
        marker = _HIDDEN_MARKER.match(line.rstrip("\r\n"))
        if marker:
            hidden = marker.group("edge") == "BEGIN"
        elif not hidden:
            kept.append(line)
    return "".join(kept)


def _top_level_names(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]


def _test_functions(path: Path) -> dict[str, set[str]]:
    """Test function name -> the ``student.X`` attributes it uses, for one test file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {node.name: {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
                        and isinstance(n.value, ast.Name) and n.value.id == "student"}
            for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def _test_cell_source(exercise, group: dict, points: float, public: dict[Path, list[str]]) -> str:
    lines = [f"# Autograded tests: {group['title'] or group['name']} ({points:g} points).",
             "# The grader runs hidden tests and the public ones below on your code, in a sandbox."]
    if not public:
        lines[1] = "# The grader runs hidden tests on your code, in a sandbox."
        return "\n".join(lines)
    lines += ["# Run this cell to check your functions above with the public tests.",
              "from nnex_notebook import run_public_tests", ""]
    for path, names in public.items():
        lines.append(f"run_public_tests(globals(), {path.name!r}, [")
        lines += [f"    {name!r}," for name in names]
        lines.append("])")
    return "\n".join(lines)


def _metadata(grade_id: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def source_notebook(exercise, answer_points: float = ANSWER_POINTS) -> nbformat.NotebookNode:
    """The nbgrader source notebook of ``exercise`` (a manifest's Exercise)."""
    source_file = exercise.solution_file
    if not source_file.is_file():
        raise FileNotFoundError(f"{source_file}: the solution file (the single source) is missing")
    nb = jupytext.reads(without_hidden_tests(source_file.read_text(encoding="utf-8")), fmt="py:percent")
    public_tests = {path: _test_functions(path) for path in exercise.public_test_files}
    uses: dict[str, set[str]] = {}
    for tests in [*public_tests.values(), _test_functions(exercise.hidden_test_file)]:
        for name, attributes in tests.items():
            uses.setdefault(name, set()).update(attributes)

    defined_in: dict[str, int] = {}   # function name -> index of the cell that defines it
    last_solution_cell = len(nb.cells) - 1
    taken: set[str] = set()

    def unique(wanted: str, fallback: str) -> str:
        grade_id = wanted if wanted not in taken else fallback
        taken.add(grade_id)
        return grade_id

    for index, cell in enumerate(nb.cells):
        has_solution = any(line.strip() == SOLUTION_MARKER for line in cell.source.splitlines())
        position = f"{index:02d}"
        if cell.cell_type == "code":
            names = _top_level_names(cell.source)
            for name in names:
                defined_in[name] = index
            if has_solution:
                last_solution_cell = index
                grade_id = unique(f"solution-{names[0]}" if names else f"solution-{position}",
                                  f"solution-{position}")
                meta = _metadata(grade_id, solution=True)
            else:
                meta = _metadata(unique(f"code-{position}", f"code-{position}"), locked=True)
        elif has_solution:
            tags = cell.metadata.get("tags", [])
            grade_id = unique(f"answer-{tags[0]}" if tags else f"answer-{position}", f"answer-{position}")
            meta = _metadata(grade_id, grade=True, solution=True, points=float(answer_points))
        else:
            meta = _metadata(unique(f"text-{position}", f"text-{position}"), locked=True)
        cell.metadata["nbgrader"] = meta

    points = group_points(exercise)
    after: dict[int, list] = {}  # cell index -> the test cells that follow it, in manifest order
    for group in exercise.groups:
        names = [t["test"] for t in group["tests"]]
        cells = [defined_in[a] for n in names for a in uses.get(n, ()) if a in defined_in]
        public = {path: [n for n in names if n in tests] for path, tests in public_tests.items()}
        cell = nbformat.v4.new_code_cell(
            _test_cell_source(exercise, group, points[group["name"]], {p: n for p, n in public.items() if n}))
        cell.metadata["nbgrader"] = _metadata(group_cell_id(group["name"]), grade=True, locked=True,
                                              points=points[group["name"]])
        after.setdefault(max(cells, default=last_solution_cell), []).append(cell)

    cells = []
    for index, cell in enumerate(nb.cells):
        cells += [cell, *after.get(index, [])]
    for cell in cells:
        cell["id"] = cell.metadata["nbgrader"]["grade_id"]
        if cell.cell_type == "code":
            cell["outputs"], cell["execution_count"] = [], None
    nb.cells = cells
    nb.metadata = nbformat.NotebookNode(kernelspec=dict(KERNELSPEC), language_info={"name": "python"})
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nb


def config_text(course_id: str) -> str:
    return CONFIG.format(course_id=course_id, preprocessors=", ".join(AUTOGRADE_PREPROCESSORS))


def assignment_files(exercise, answer_points: float = ANSWER_POINTS) -> dict[str, str | Path]:
    """File name in the assignment's source folder -> its text, or the file to copy."""
    files: dict[str, str | Path] = {
        f"{exercise.module}.ipynb": nbformat.writes(source_notebook(exercise, answer_points)) + "\n"}
    for path in [*exercise.public_test_files, *(exercise.exercise_dir / s for s in exercise.support_files),
                 exercise.exercise_dir / "self_check.json",  # the hints that the test cells show
                 *(EXERCISES / name for name in STUDENT_HELPERS)]:
        files[path.name] = path
    return files


def init_course(course_dir: Path, exercises, course_id: str | None = None,
                answer_points: float = ANSWER_POINTS, force: bool = False) -> list[Path]:
    """Write the course into ``course_dir``; return the files written.

    An existing nbgrader_config.py is kept when it is what we would write; a different one is
    overwritten only with ``force`` (else FileExistsError). Source folders are rewritten.
    """
    course_dir = Path(course_dir)
    config = course_dir / "nbgrader_config.py"
    text = config_text(course_id or course_dir.resolve().name)
    if config.is_file() and config.read_text(encoding="utf-8") != text and not force:
        raise FileExistsError(f"{config} exists and differs from what init writes; "
                              "keep it, or pass --force to overwrite it")
    written = []
    for exercise in exercises:
        folder = course_dir / "source" / assignment_name(exercise)
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in assignment_files(exercise, answer_points).items():
            if isinstance(content, Path):
                shutil.copyfile(content, folder / name)
            else:
                (folder / name).write_text(content, encoding="utf-8")
            written.append(folder / name)
    config.write_text(text, encoding="utf-8")
    written.append(config)
    return written


def solved_notebook(student_nb, source_nb, edit=lambda code: code) -> nbformat.NotebookNode:
    """The student notebook ``student_nb`` with every answer filled in from ``source_nb``.

    What a student who wrote the worked solution hands in: each answer cell (matched by its
    grade_id) gets the source notebook's solution without nbgrader's markers, passed through
    ``edit`` (which may plant a mistake) for code cells. For checking a course end to end.
    """
    solutions = {cell.metadata["nbgrader"]["grade_id"]: cell for cell in source_nb.cells
                 if cell.metadata.get("nbgrader", {}).get("solution")}
    solved = nbformat.from_dict(student_nb)
    for cell in solved.cells:
        source = solutions.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
        if source is not None:
            text = "\n".join(line for line in source.source.splitlines()
                             if line.strip() not in (SOLUTION_MARKER, "### END SOLUTION"))
            cell.source = edit(text) if cell.cell_type == "code" else text
    return solved
