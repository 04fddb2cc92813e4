"""Bad inputs cost only themselves: one run of the command line over a batch of awkward submissions
beside correct ones. Each awkward one is graded, or refused with a message that names its file;
every correct one keeps full marks, and the run finishes with its reports."""
import json
import os
import subprocess
import sys
import zipfile

import nbformat
import pytest

from grader.manifests import load_manifests
from grader.paths import ROOT

EXERCISE = load_manifests()["neuron_gradient"]
SOLUTION = EXERCISE.solution_file.read_text()
DEEP = 1100  # folders: deeper than Python's recursion limit


def _notebook(code: str, outputs: list | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(code)
    cell.outputs = outputs or []
    return nbformat.v4.new_notebook(cells=[cell])


def _write(folder, name, data):
    path = folder / EXERCISE.folder / name
    path.parent.mkdir(parents=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{submission id: its result}, the run, and the feedback folder."""
    root, out = tmp_path_factory.mktemp("bad-inputs"), tmp_path_factory.mktemp("bad-inputs-out")
    run_tmp = tmp_path_factory.mktemp("bad-inputs-tmp")
    submissions = []
    with zipfile.ZipFile(root / "deep.zip", "w") as zipped:  # 2 MB of folder names, and the solution at the top
        zipped.writestr("deep/" * DEEP + "neuron.py", "x = 1\n")
        zipped.writestr(f"{EXERCISE.folder}/{EXERCISE.student_file}", SOLUTION)
    submissions.append(root / "deep.zip")
    submissions.append(_write(root / "bom", EXERCISE.student_file, b"\xef\xbb\xbf" + SOLUTION.encode()))
    plot = {"output_type": "display_data", "metadata": {},
            "data": {"image/png": "iVBORw0KGgo" * (3 * 2**20 // 11)}}  # 3 MiB of a picture's output
    notebook = _notebook(SOLUTION, [nbformat.from_dict(plot)])
    submissions.append(_write(root / "plots", f"{EXERCISE.module}.ipynb", nbformat.writes(notebook)))
    text = nbformat.writes(_notebook(SOLUTION + "\n# a lone surrogate: SURROGATE\n"))
    submissions.append(_write(root / "surrogate", f"{EXERCISE.module}.ipynb",  # JSON allows the escape
                              text.replace("SURROGATE", "\\ud800")))
    submissions.append(_write(root / "José", EXERCISE.student_file, SOLUTION))
    submissions.append(_write(root / "Josè", EXERCISE.student_file, (EXERCISE.exercise_dir / EXERCISE.student_file).read_text()))
    with zipfile.ZipFile(root / "clash.zip", "w") as zipped:  # entries that cannot be written beside the solution
        zipped.writestr("neuron.py", SOLUTION)
        zipped.writestr("neuron.py/neuron.py", "x = 1\n")  # a folder where a file is
        zipped.writestr("n" * 300 + "/neuron.py", "x = 1\n")  # a name too long for the filesystem
    submissions.append(root / "clash.zip")
    for name in ("fifo", "zero"):  # single files that never end: a pipe, the endless device
        (root / name).mkdir()
        submissions.append(root / name / EXERCISE.student_file)
    os.mkfifo(submissions[-2])
    submissions[-1].symlink_to("/dev/zero")
    for folder in ("alice", "elsewhere/alice", "alice-2"):  # the second alice must not become alice-2
        submissions.append(_write(root / folder, EXERCISE.student_file, SOLUTION))
    report = out / "report.json"
    run = subprocess.run([sys.executable, "-m", "grader", "grade", *map(str, submissions), "--exercise", EXERCISE.id,
                          "--json", str(report), "--feedback", str(out / "feedback"), "--jobs", "2"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600, env=dict(os.environ, TMPDIR=str(run_tmp)))
    results = {s["id"]: s for s in json.loads(report.read_text())["submissions"]} if report.exists() else {}
    return results, run, out / "feedback", sorted(p.name for p in run_tmp.iterdir())


def test_the_run_finishes_with_every_submission_in_the_report(graded):
    results, run, _, left_in_tmp = graded
    assert run.returncode == 1, run.stderr[-3000:]  # some submissions could not be read: each costs itself
    assert sorted(results) == sorted(["deep", "bom", "plots", "surrogate", "José", "Josè", "clash", "fifo",
                                      "zero", "alice", "alice-3", "alice-2"])
    assert left_in_tmp == []  # the extracted zip and every sandbox's folder are gone


@pytest.mark.parametrize("name", ["deep", "bom", "plots", "surrogate", "José", "clash", "alice", "alice-2", "alice-3"])
def test_a_correct_file_in_an_awkward_form_keeps_full_marks(graded, name):
    (exercise,) = graded[0][name]["exercises"]
    assert exercise["status"] == "graded", exercise["message"]
    assert exercise["score"] == exercise["max_score"] > 0, [t["message"] for t in exercise["tests"] if not t["passed"]]


def test_the_changed_characters_and_the_deep_folders_are_noted(graded):
    assert "not valid Unicode" in graded[0]["surrogate"]["exercises"][0]["message"]
    assert "folders deep were left out" in graded[0]["deep"]["exercises"][0]["message"]


def test_entries_that_cannot_be_written_are_named_and_cost_only_themselves(graded):
    message = graded[0]["clash"]["exercises"][0]["message"]
    assert "'neuron.py/neuron.py' could not be extracted" in message and "'nnnnn" in message
    assert "nnex-" not in message  # no temporary path: the same input gives the same bytes


@pytest.mark.parametrize("name", ["fifo", "zero"])  # each named after its folder
def test_a_file_that_never_ends_is_refused_by_name(graded, name):
    (exercise,) = graded[0][name]["exercises"]
    assert exercise["status"] == "error" and exercise["message"] == "neuron.py is not a regular file"
    assert f"{name}: neuron.py is not a regular file" in graded[1].stderr


def test_names_that_differ_in_one_accent_keep_their_own_feedback(graded):
    results, _, feedback, _ = graded
    files = sorted(p.name for p in feedback.glob("*.html"))
    assert len(files) == len(results)
    for student, score in (("José", EXERCISE.max_score), ("Josè", 0)):
        text = (feedback / f"{student}.html").read_text(encoding="utf-8")
        assert f"<h1>Feedback for {student}</h1>" in text and f'Total: <span class="score">{score:g} / ' in text
