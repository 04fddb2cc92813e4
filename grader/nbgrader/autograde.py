"""The preprocessor that nbgrader's autograde runs in place of Execute: sandboxed grading.

nbgrader_config.py (course.py writes it) puts ``SandboxedGrading`` where nbgrader would execute
the notebook. nbgrader has already sanitised the submission (outputs cleared, locked and test
cells put back from the source notebook by their checksums, deleted test cells added back).
For each notebook this preprocessor

1. finds the exercise from the assignment and notebook names (never from the notebook's
   metadata, which the student controls);
2. takes the student's code out of the notebook: every code cell except the test cells, the way
   ``nnex grade`` reads a notebook submission (magics and shell escapes are not run);
3. grades it with the engine (a judge server, a sandboxed child for the student's code);
4. writes every test cell's result as that cell's output, as nbgrader's SaveAutoGrades reads it:
   full or partial points as a single float ``execute_result`` (after the messages of the failed
   tests, as text), no points as an ``error`` output whose text is our message; the pictures that
   the group's tests drew follow as image outputs, which generate_feedback shows.

Every test cell gets an explicit result, also when the engine fails: a code grade cell without
output would be worth full points to nbgrader. The student's code never runs in this process.
"""
from __future__ import annotations

import atexit
import base64
import tempfile
import threading
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from grader.grading import JudgeServer, grade_exercise
from grader.manifests import ManifestError, load_manifest
from grader.nbgrader.course import TEST_CELL_PREFIX, group_points
from grader.paths import MANIFESTS
from grader.reports import pictures
from grader.sandbox.launcher import harden_judge_process, kill_descendants
from grader.submissions import open_submission

ERROR_NAME = "NotPassed"  # the ename of a test cell's error output

_server: JudgeServer | None = None
_server_lock = threading.Lock()


def _judge_server() -> JudgeServer:
    """One judge server for the whole nbgrader run: it starts once, not once per notebook.

    As `nnex grade` does, this process becomes the reaper of the judges' orphans and unreadable
    to other processes, and kills what is left below it when it exits.
    """
    global _server
    with _server_lock:
        if _server is None:
            harden_judge_process()
            _server = JudgeServer(1)
            atexit.register(kill_descendants)
            atexit.register(_server.close)  # runs first: atexit goes in reverse order
        return _server


def is_test_cell(cell) -> bool:
    """An autograder test cell: a grade cell that is not an answer (nbgrader's own rule)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution") and cell.get("cell_type") == "code"


def find_exercise(assignment: str, notebook: str):
    """The exercise that an nbgrader (assignment, notebook) stands for.

    Raises LookupError when there is none. Manifests are read one by one, so that a broken
    manifest of another exercise does not stop this one from being graded.
    """
    problems = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        if path.name == "schema.yaml":
            continue
        try:
            exercise = load_manifest(path)
        except ManifestError as error:
            problems.append(str(error))
            continue
        if assignment in (exercise.folder, exercise.id) and notebook == exercise.module:
            return exercise
    raise LookupError(f"no nn-exercises exercise is assignment {assignment!r} with notebook {notebook!r}"
                      + "".join(f"; {problem}" for problem in problems))


def student_notebook(nb: NotebookNode) -> NotebookNode:
    """A copy of ``nb`` whose test cells are empty markdown: what the student wrote, the locked
    cells, and the cells' numbers as in ``nb`` (the grader's notes name cells by number)."""
    copy = nbformat.from_dict(nb)
    copy.cells = [nbformat.v4.new_markdown_cell("") if is_test_cell(cell) else cell for cell in copy.cells]
    return copy


def grade_notebook(exercise, nb: NotebookNode) -> tuple[dict, dict[str, list[NotebookNode]]]:
    """The engine's result for the student's code in ``nb`` (the JSON of SPEC.md, one exercise),
    and the pictures its tests drew, as image outputs, by the name of the group whose test drew them."""
    with tempfile.TemporaryDirectory(prefix="nnex-nbgrader-") as folder:
        path = Path(folder) / f"{exercise.module}.ipynb"
        nbformat.write(student_notebook(nb), path)
        submission = open_submission(path, {exercise.student_file})
        drawn = Path(folder) / "pictures"
        try:
            result = grade_exercise(_judge_server(), submission, exercise, figures_dir=drawn)
        finally:
            submission.close()
        group_of = {test.name: test.group for test in exercise.tests}
        images: dict[str, list[NotebookNode]] = {}
        for filename in result.get("figures", []):
            png = base64.b64encode(pictures.compact_png(drawn / filename)).decode("ascii")
            output = nbformat.v4.new_output("display_data", data={
                "image/png": png, "text/plain": pictures.caption(exercise.id, filename)})
            group = group_of.get(pictures.drawn_by(exercise, filename), exercise.groups[-1]["name"])
            images.setdefault(group, []).append(output)
        return result, images


def group_results(exercise, result: dict) -> dict[str, tuple[float, list[str]]]:
    """Group name -> (its score, the messages of its failed tests)."""
    group_of = {test.name: test.group for test in exercise.tests}
    groups: dict[str, tuple[float, list[str]]] = {name: (0.0, []) for name in group_points(exercise)}
    for test in result["tests"]:
        score, messages = groups[group_of[test["name"]]]
        if not test["passed"]:
            messages = messages + [f"{test['name']} ({test['score']:g} of {test['max_score']:g}): "
                                   f"{test['message'] or 'failed'}"]
        groups[group_of[test["name"]]] = (score + test["score"], messages)
    return groups


def result_outputs(score: float, points: float, title: str, messages: list[str],
                   images: list[NotebookNode] = ()) -> list[NotebookNode]:
    """A test cell's outputs: a float for (partial) credit, an error for none; ``images`` (the
    group's pictures) between the messages and the float, or after the error."""
    score = min(max(round(score, 4), 0.0), points)
    summary = f"{title}: {score:g} of {points:g} points"
    lines = [f"- {m}" for m in messages]
    if score <= 0:
        return [nbformat.v4.new_output("error", ename=ERROR_NAME, evalue=summary,
                                       traceback=[summary, *(lines or ["- no test passed"])]), *images]
    text = "\n".join([summary, *lines]) if lines else f"{summary}: every test passed"
    return [nbformat.v4.new_output("stream", name="stdout", text=text + "\n"), *images,
            nbformat.v4.new_output("execute_result", data={"text/plain": repr(float(score))},
                                   execution_count=None)]


class SandboxedGrading(NbGraderPreprocessor):
    """Grade the student's code in the sandbox; write each test cell's result as its output."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        test_cells = [cell for cell in nb.cells if is_test_cell(cell)]
        info = resources.get("nbgrader", {})
        try:
            outputs = self._outputs(nb, test_cells, info.get("assignment", ""), info.get("notebook", ""))
        except LookupError as error:
            self.log.error("nn-exercises: %s", error)
            outputs = {id(cell): [self._error(cell, str(error))] for cell in test_cells}
        except Exception as error:  # a fault of the grader's own: reported in every cell, never full marks
            self.log.exception("nn-exercises grading failed")
            outputs = {id(cell): [self._error(cell, f"internal grader error: {type(error).__name__}: {error}")]
                       for cell in test_cells}
        for cell in test_cells:
            cell.outputs = outputs[id(cell)]
            cell.execution_count = None
        return nb, resources

    @staticmethod
    def _error(cell, message: str) -> NotebookNode:
        meta = cell.metadata["nbgrader"]
        title = f"the tests of {meta.get('grade_id', 'this cell')}"
        return result_outputs(0.0, float(meta.get("points", 0)), title, [message])[0]

    def _outputs(self, nb, test_cells, assignment: str, notebook: str) -> dict[int, list]:
        exercise = find_exercise(assignment, notebook)
        result, images = grade_notebook(exercise, nb)
        self.log.info("nn-exercises: %s %s: %g of %g points (%s)", assignment, notebook,
                      result["score"], result["max_score"], result["status"])
        groups = group_results(exercise, result)
        titles = {g["name"]: g["title"] or g["name"] for g in exercise.groups}
        points = group_points(exercise)
        # what the exercise as a whole says (an import that failed, a time-out), unless every test says it
        message = result.get("message", "")
        notes = [message] if message and not all(message in t["message"] for t in result["tests"]
                                                 if not t["passed"]) else []
        outputs = {}
        for cell in test_cells:
            grade_id = cell.metadata["nbgrader"].get("grade_id", "")
            name = grade_id[len(TEST_CELL_PREFIX):] if grade_id.startswith(TEST_CELL_PREFIX) else None
            if name not in groups:
                outputs[id(cell)] = [self._error(cell, f"{grade_id!r} is not a test group of {exercise.id}")]
                continue
            score, messages = groups[name]
            cell_points = float(cell.metadata["nbgrader"]["points"])  # nbgrader's, from its gradebook
            if cell_points != points[name]:
                self.log.warning("nn-exercises: %s is worth %g points in nbgrader's gradebook and %g in the "
                                 "manifest: the score is scaled", grade_id, cell_points, points[name])
            outputs[id(cell)] = result_outputs(exercise.round_score(score * cell_points / points[name]), cell_points,
                                               titles[name], messages + (notes if score < points[name] else []),
                                               images.get(name, []))
        return outputs
