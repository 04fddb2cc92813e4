"""Downloads of learning management systems: Canvas, Moodle and Gradescope name each file after its
student, and the grader keeps that name in every output; a file it cannot place costs only itself."""
import csv
import json
import subprocess
import sys
import zipfile

import nbformat
import pytest

from grader import lms
from grader.manifests import load_manifests
from grader.paths import ROOT
from grader.reports import feedback_name
from grader.submissions import open_submissions

EXERCISE = load_manifests()["neuron_gradient"]
SOLUTION = EXERCISE.solution_file.read_text()
STUB = (EXERCISE.exercise_dir / EXERCISE.student_file).read_text()
STUDENT_FILES = {"neuron.py", "mlp.py"}


@pytest.mark.parametrize("name, student, original, order", [
    ("smithjohn_12345_678_neuron.py", ("smithjohn", "canvas", "12345"), "neuron.py", 678),
    ("smithjohn_LATE_12345_679_neuron-1.py", ("smithjohn", "canvas", "12345"), "neuron.py", 679),
    ("smithjohn_late_12345_680_mlp-12.ipynb", ("smithjohn", "canvas", "12345"), "mlp.ipynb", 680),
    ("smithjohn_12345_681_homework-2.py", ("smithjohn", "canvas", "12345"), "homework-2.py", 681),
    ("Jane Doe_123456_assignsubmission_file_neuron.py", ("Jane Doe", "moodle", "123456"), "neuron.py", 0),
])
def test_upload_names_give_the_student_and_the_original_name(name, student, original, order):
    upload = lms.upload(name, {"neuron.py", "neuron.ipynb", "mlp.py", "mlp.ipynb"})
    assert (upload.student.name, upload.student.lms, upload.student.lms_id) == student
    assert (upload.original, upload.order) == (original, order)


@pytest.mark.parametrize("name", ["neuron.py", "alice", "alice_neuron.py", "Jane Doe_123456_assignsubmission_file_"])
def test_other_names_are_no_upload(name):
    assert lms.upload(name, STUDENT_FILES) is None


def test_moodle_folders_and_gradescope_metadata_name_their_students():
    assert lms.moodle_folder("Jane Doe_123456_assignsubmission_file_") == lms.Student("Jane Doe", "moodle", "123456")
    assert lms.moodle_folder("Jane Doe") is None
    metadata = ("submission_111:\n  :submitters:\n  - :name: Ann Lee\n    :sid: '42'\n    :email: ann@example.edu\n"
                "  :score: 3.0\nsubmission_222:\n  :submitters:\n  - :name: Bo Ng\n    :email: bo@example.edu\n"
                "  - :name: Cy Oh\n    :sid: '7'\n")
    assert lms.gradescope_students(metadata) == {
        "submission_111": lms.Student("Ann Lee", "gradescope", "42"),
        "submission_222": lms.Student("Bo Ng & Cy Oh", "gradescope", "bo@example.edu & 7")}
    with pytest.raises(ValueError, match="submission_metadata.yml"):
        lms.gradescope_students("- a list")


def test_a_canvas_download_gives_one_submission_per_student(tmp_path):
    download = tmp_path / "submissions"
    download.mkdir()
    for name in ("smithjohn_12_100_neuron.py", "smithjohn_12_101_mlp.py", "doejane_34_200_neuron.py",
                 "doejane_LATE_34_201_neuron-1.py", "leeann_56_300_homework.py", "readme.txt"):
        (download / name).write_text("x = 1\n")
    jane, ann, readme, john = open_submissions([download], STUDENT_FILES)  # in the order of their names
    assert (john.id, john.student, john.error) == ("smithjohn", lms.Student("smithjohn", "canvas", "12"), None)
    assert sorted(john.files) == ["mlp.py", "neuron.py"]
    assert jane.files == {"neuron.py": download / "doejane_LATE_34_201_neuron-1.py"}  # the later upload
    assert any("the later upload, doejane_LATE_34_201_neuron-1.py, is graded" in note for note in jane.notes)
    assert ann.id == "leeann" and "leeann_56_300_homework.py: homework.py is not named like a student file" in ann.error
    assert readme.id == "readme.txt" and "readme.txt is not named as Canvas or Moodle name" in readme.error


def test_a_misnamed_upload_costs_only_itself_when_the_student_has_others(tmp_path):
    for name in ("smithjohn_12_100_neuron.py", "smithjohn_12_101_notes.py"):
        (tmp_path / name).write_text("x = 1\n")
    (john,) = open_submissions(sorted(tmp_path.iterdir()), STUDENT_FILES)
    assert john.error is None and list(john.files) == ["neuron.py"]
    assert any("smithjohn_12_101_notes.py: notes.py is not named like a student file" in n for n in john.notes)


def test_uploads_in_a_canvas_zip_that_are_no_student_file_are_reported_unread(tmp_path):
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("smithjohn_12_100_neuron.py", "x = 1\n")
        zipped.writestr("smithjohn_12_101_report.pdf", b"%PDF" * 1000)
        zipped.writestr("leeann_56_300_report.pdf", b"%PDF")
    submissions = open_submissions([archive], STUDENT_FILES)
    try:
        ann, john = submissions
        assert "leeann_56_300_report.pdf: report.pdf is not named like a student file" in ann.error
        assert john.error is None and any("smithjohn_12_101_report.pdf: report.pdf" in n for n in john.notes)
        assert [p.name for p in john.files["neuron.py"].parent.iterdir()] == ["smithjohn_12_100_neuron.py"]
    finally:
        for submission in submissions:
            submission.close()


def test_a_moodle_zip_gives_one_submission_per_folder_and_opens_a_students_own_zip(tmp_path):
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as zipped:
        zipped.writestr("work/01_neuron_gradient/neuron.py", "x = 2\n")
    archive = tmp_path / "moodle.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("Jane Doe_123_assignsubmission_file_/neuron.py", "x = 1\n")
        zipped.writestr("Bo Ng_456_assignsubmission_file_/homework.zip", inner.read_bytes())
        zipped.writestr("Bo Ng_456_assignsubmission_onlinetext_/onlinetext.html", "<p>hi</p>")
    submissions = open_submissions([archive], STUDENT_FILES)
    try:
        assert [(s.id, s.student.lms_id) for s in submissions] == [("Bo Ng", "456"), ("Jane Doe", "123")]
        bo, jane = submissions
        assert bo.locate(EXERCISE).read_text() == "x = 2\n" and jane.locate(EXERCISE).read_text() == "x = 1\n"
    finally:
        for submission in submissions:
            submission.close()


def test_a_gradescope_export_names_each_submission_after_its_submitter(tmp_path):
    export = tmp_path / "assignment_9_export"
    (export / "submission_111").mkdir(parents=True)
    (export / "submission_111" / "neuron.py").write_text("x = 1\n")
    (export / "submission_222").mkdir()
    (export / lms.GRADESCOPE_METADATA).write_text("submission_111:\n  :submitters:\n  - :name: Ann Lee\n    :sid: '42'\n")
    ann, unknown = open_submissions([export], STUDENT_FILES)
    assert (ann.id, ann.student.lms_id, ann.locate(EXERCISE).name) == ("Ann Lee", "42", "neuron.py")
    assert unknown.id == "submission_222" and "names no submitter of submission_222" in unknown.notes[0]


def test_lone_student_files_are_named_after_their_folder_and_one_folders_files_go_together(tmp_path):
    for relative in ("alice/neuron.py", "alice/mlp.py", "bob/01_neuron_gradient/neuron.py"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x = 1\n")
    paths = [tmp_path / "alice" / "neuron.py", tmp_path / "bob" / "01_neuron_gradient" / "neuron.py",
             tmp_path / "alice" / "mlp.py"]
    alice, bob = open_submissions(paths, STUDENT_FILES)
    assert (alice.id, sorted(alice.files), bob.id) == ("alice", ["mlp.py", "neuron.py"], "bob")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A Canvas zip and a Moodle folder graded in one run: the JSON, the CSV rows, the feedback folder, the run."""
    root, out = tmp_path_factory.mktemp("lms"), tmp_path_factory.mktemp("lms-out")
    canvas = root / "submissions.zip"
    with zipfile.ZipFile(canvas, "w") as zipped:
        zipped.writestr("smithjohn_12_100_neuron.py", SOLUTION)
        zipped.writestr("leeann_56_300_homework.py", SOLUTION)  # misnamed: costs only Ann
    moodle = root / "moodle"
    (moodle / "Jane Doe_123_assignsubmission_file_").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(STUB)]),
                   moodle / "Jane Doe_123_assignsubmission_file_" / f"{EXERCISE.module}.ipynb")
    run = subprocess.run([sys.executable, "-m", "grader", "grade", str(canvas), str(moodle), "--exercise", EXERCISE.id,
                          "--json", str(out / "r.json"), "--csv", str(out / "r.csv"), "--feedback", str(out / "feedback"),
                          "--jobs", "1"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    return (json.loads((out / "r.json").read_text()), list(csv.DictReader((out / "r.csv").open())),
            out / "feedback", run)


def test_every_student_of_the_downloads_keeps_their_identity_in_the_json_and_the_csv(graded):
    report, rows, _, run = graded
    assert run.returncode == 1, run.stderr[-3000:]  # Ann's file could not be placed
    expected = [("leeann", "canvas", "56"), ("smithjohn", "canvas", "12"), ("Jane Doe", "moodle", "123")]
    assert [(s["id"], s["student"]["lms"], s["student"]["lms_id"]) for s in report["submissions"]] == expected
    assert [(r["id"], r["lms"], r["lms_id"]) for r in rows] == expected
    assert [s["score"] for s in report["submissions"]] == [0, EXERCISE.max_score, 0]
    assert [r["score"] for r in rows] == ["0.0", f"{EXERCISE.max_score}", "0.0"]
    assert report["submissions"][2]["exercises"][0]["status"] == "graded"  # the stub, as a notebook


def test_an_upload_that_cannot_be_placed_costs_only_itself(graded):
    report, _, _, run = graded
    ann = report["submissions"][0]
    assert ann["error"] == "leeann_56_300_homework.py: homework.py is not named like a student file " \
                           "(attention.py, ddpm.py, dead_relu.py, dropout.py, mlp.py, neuron.py, " \
                           "or a notebook of the same name)"
    assert "leeann: leeann_56_300_homework.py: homework.py is not named like a student file" in run.stderr


def test_the_feedback_of_each_student_bears_their_name(graded):
    _, _, feedback, _ = graded
    jane = f"{feedback_name('Jane Doe')}.html"
    assert jane.startswith("Jane_Doe-")
    assert sorted(p.name for p in feedback.iterdir()) == [jane, "leeann.html", "smithjohn.html"]
    assert "<h1>Feedback for Jane Doe</h1>" in (feedback / jane).read_text()
    assert "Moodle id 123" in (feedback / jane).read_text()
    assert "Canvas id 12" in (feedback / "smithjohn.html").read_text()


def test_gradescope_results_for_a_download_of_several_students_are_refused(tmp_path):
    for name in ("smithjohn_12_100_neuron.py", "doejane_34_200_neuron.py"):
        (tmp_path / name).write_text("x = 1\n")
    run = subprocess.run([sys.executable, "-m", "grader", "grade", str(tmp_path), "--gradescope", str(tmp_path / "r.json")],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 2 and f"--gradescope writes one submission's results, and {tmp_path} holds 2" in run.stderr
    assert not (tmp_path / "r.json").exists()
