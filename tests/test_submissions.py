"""Reading submissions: folders, zips, single files and notebooks, without running anything."""
import zipfile
from types import SimpleNamespace

import nbformat
import pytest

from grader.submissions import SubmissionError, open_submission, student_code

EXERCISE = SimpleNamespace(student_file="neuron.py", module="neuron", folder="01_neuron_gradient")
STUDENT_FILES = {"neuron.py", "mlp.py"}


def test_a_folder_is_searched_for_the_exercise_file(tmp_path):
    (tmp_path / "alice" / "01_neuron_gradient").mkdir(parents=True)
    (tmp_path / "alice" / "01_neuron_gradient" / "neuron.py").write_text("x = 1\n")
    submission = open_submission(tmp_path / "alice", STUDENT_FILES)
    assert submission.id == "alice" and submission.error is None
    assert submission.locate(EXERCISE) == tmp_path / "alice" / "01_neuron_gradient" / "neuron.py"


def test_the_py_file_is_preferred_to_the_notebook_and_the_exercise_folder_to_others(tmp_path):
    folder = tmp_path / "bob"
    for relative in ("01_neuron_gradient/neuron.py", "01_neuron_gradient/neuron.ipynb", "old/neuron.py"):
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text("")
    assert open_submission(folder, STUDENT_FILES).locate(EXERCISE) == folder / "01_neuron_gradient" / "neuron.py"


def test_two_equally_good_candidates_are_reported(tmp_path):
    for relative in ("a/neuron.py", "b/neuron.py"):
        (tmp_path / relative).parent.mkdir(parents=True)
        (tmp_path / relative).write_text("")
    with pytest.raises(SubmissionError, match="more than one candidate"):
        open_submission(tmp_path, STUDENT_FILES).locate(EXERCISE)


def test_a_missing_file_is_none(tmp_path):
    assert open_submission(tmp_path, STUDENT_FILES).locate(EXERCISE) is None


def test_a_single_file_is_a_submission_of_its_exercise_only(tmp_path):
    (tmp_path / "neuron.py").write_text("")
    submission = open_submission(tmp_path / "neuron.py", STUDENT_FILES)
    assert submission.locate(EXERCISE) == tmp_path / "neuron.py"
    other = SimpleNamespace(student_file="mlp.py", module="mlp", folder="02_numpy_mlp")
    assert submission.locate(other) is None


def test_a_single_file_with_another_name_is_refused_with_its_name(tmp_path):
    (tmp_path / "homework.py").write_text("")
    submission = open_submission(tmp_path / "homework.py", STUDENT_FILES)
    assert "homework.py is not named like a student file" in submission.error


def test_zip_entries_that_would_land_outside_are_refused(tmp_path):
    archive = tmp_path / "carol.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("carol/01_neuron_gradient/neuron.py", "x = 1\n")
        zipped.writestr("../escaped.py", "x = 2\n")
        zipped.writestr("/abs/escaped.py", "x = 3\n")
        link = zipfile.ZipInfo("carol/link.py")
        link.external_attr = 0o120777 << 16
        zipped.writestr(link, "/etc/passwd")
    submission = open_submission(archive, STUDENT_FILES)
    assert submission.id == "carol" and submission.error is None
    assert submission.locate(EXERCISE).read_text() == "x = 1\n"
    assert not (tmp_path / "escaped.py").exists()
    assert not list(submission.roots[0].rglob("escaped.py")) and not list(submission.roots[0].rglob("link.py"))
    assert sum("refused zip entry" in note for note in submission.notes) == 3
    submission.close()


def test_a_corrupt_zip_costs_only_itself(tmp_path):
    (tmp_path / "dave.zip").write_bytes(b"PK\x03\x04 not really a zip")
    submission = open_submission(tmp_path / "dave.zip", STUDENT_FILES)
    assert submission.error.startswith("dave.zip cannot be read as a zip")
    assert submission.locate(EXERCISE) is None


def test_notebook_code_cells_are_joined_and_magics_reported_not_run(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Task"),
        nbformat.v4.new_code_cell("%matplotlib inline\nimport numpy as np"),
        nbformat.v4.new_code_cell("%%bash\nrm -rf /"),
        nbformat.v4.new_code_cell("def f(x):\n    !ls\n    return x"),
    ]
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", text="ignored")]
    path = tmp_path / "neuron.ipynb"
    nbformat.write(notebook, path)
    code, notes, _ = student_code(path)
    assert "rm -rf" not in code and "%" not in code and "!ls" not in code
    namespace = {}
    exec(compile(code, "neuron.py", "exec"), namespace)
    assert namespace["f"](3) == 3
    assert len(notes) == 3 and all("was not run" in note for note in notes)


def test_future_imports_of_a_later_cell_come_first(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("import math"),
                      nbformat.v4.new_code_cell("from __future__ import annotations\ndef f(x: Later) -> int:\n"
                                                "    return math.floor(x)")]
    path = tmp_path / "neuron.ipynb"
    nbformat.write(notebook, path)
    code, notes, _ = student_code(path)
    namespace = {}
    exec(compile(code, "neuron.py", "exec"), namespace)  # a SyntaxError if the import stayed in place
    assert namespace["f"](2.5) == 2 and notes == []


def test_a_broken_notebook_is_reported_by_name(tmp_path):
    (tmp_path / "neuron.ipynb").write_text("{ not json")
    with pytest.raises(SubmissionError, match="neuron.ipynb is not a readable notebook"):
        student_code(tmp_path / "neuron.ipynb")


def test_a_folder_tree_deeper_than_the_recursion_limit_is_walked_without_recursion(tmp_path):
    folder = tmp_path / "deep"
    (folder / "01_neuron_gradient").mkdir(parents=True)
    (folder / "01_neuron_gradient" / "neuron.py").write_text("x = 1\n")
    levels = [folder]
    for _ in range(1100):  # os.makedirs itself recurses: one folder at a time
        levels.append(levels[-1] / "d")
        levels[-1].mkdir()
    (levels[-1] / "neuron.py").write_text("too deep to be looked at\n")
    try:
        submission = open_submission(folder, STUDENT_FILES)
        assert submission.locate(EXERCISE) == folder / "01_neuron_gradient" / "neuron.py"
    finally:  # pytest's own clean-up of old temporary folders recurses too
        (levels[-1] / "neuron.py").unlink()
        for level in reversed(levels[1:]):
            level.rmdir()


def test_a_py_file_with_a_byte_order_mark_is_read_without_it(tmp_path):
    path = tmp_path / "neuron.py"
    path.write_bytes(b"\xef\xbb\xbfx = 1\n")
    assert student_code(path) == ("x = 1\n", [], {})


def test_the_notes_of_a_notebook_full_of_magics_are_counted_not_listed(tmp_path):
    path = tmp_path / "neuron.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%time 1\n" * 5000)]), path)
    code, notes, _ = student_code(path)
    assert code.count("run_line_magic('time', '1')") == 5000
    assert len(notes) == 21 and notes[-1] == "... and 4980 more lines that were not run"
