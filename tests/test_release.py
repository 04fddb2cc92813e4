"""What students receive (`nnex release OUT_DIR`): everything they need, nothing secret.

Secret: the worked solutions (solutions/), the reference implementations (reference/), the hidden
tests (grader/hidden/) and the points (grader/manifests/). The release is checked for them by
content, not only by file name: no file may hold a solution region, four consecutive code lines
of a reference function or of a hidden test, a hidden test's name, or a line of a manifest.
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader import cli
from grader.generate import render_exercise
from grader.manifests import load_manifests
from grader.nbgrader.release import MARKER
from grader.paths import EXERCISES, ROOT

MANIFESTS = load_manifests()
WINDOW = 4  # consecutive code lines that count as a copy
SOLUTION_MARKER = re.compile(r"^\s*(?:#\s*)?### (BEGIN|END) SOLUTION\s*$")


def normalised(text: str) -> str:
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


# code that the public files share with the hidden tests or the reference (checks, data helpers)
PUBLIC_CODE = "\n".join(normalised(path.read_text(encoding="utf-8")) for path in sorted(EXERCISES.rglob("*.py")))


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "students"
    assert cli.main(["release", str(out)]) == 0
    return out


def release_text(release: Path) -> str:
    """Every file of the release (a notebook: its cells' sources), each line stripped, blank lines left out."""
    texts = []
    for path in sorted(release.rglob("*")):
        if path.suffix == ".ipynb":
            texts += [cell.source for cell in nbformat.read(path, as_version=4).cells]
        elif path.is_file():
            texts.append(path.read_text(encoding="utf-8"))
    return "\n".join(normalised(text) for text in texts)


def windows(lines: list[str]) -> list[str]:
    lines = [line.strip() for line in lines if line.strip()]
    return ["\n".join(lines[i:i + WINDOW]) for i in range(len(lines) - WINDOW + 1)]


def function_bodies(path: Path, only=lambda name: True) -> list[list[str]]:
    """The code lines of each top-level function of ``path`` (docstrings left out)."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    bodies = []
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and only(node.name):
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            if body:
                bodies.append(lines[body[0].lineno - 1:node.end_lineno])
    return bodies


def solution_regions(path: Path) -> list[str]:
    """The text of each solution region, as code and as markdown (without the comment marks)."""
    regions, current = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        marker = SOLUTION_MARKER.match(line)
        if marker and marker.group(1) == "BEGIN":
            current = []
        elif marker:
            regions += [normalised("\n".join(current)),
                        normalised("\n".join(re.sub(r"^\s*# ?", "", line) for line in current))]
            current = None
        elif current is not None:
            current.append(line)
    return regions


def public_test_names(exercise) -> set[str]:
    return {name for path in exercise.public_test_files
            for name in re.findall(r"^def (test_\w+)", path.read_text(), re.M)}


def test_each_exercise_has_its_stub_notebook_task_text_and_public_tests(release):
    assert (release / "README.md").is_file() and (release / MARKER).is_file()
    for name in ("conftest.py", "nnex_check.py", "nnex_notebook.py"):
        assert (release / "exercises" / name).read_bytes() == (EXERCISES / name).read_bytes()
    for exercise in MANIFESTS.values():
        folder = release / "exercises" / exercise.folder
        for path, text in render_exercise(exercise).items():  # stub, notebook and task text
            assert (folder / path.name).read_text(encoding="utf-8") == text
        for path in [*exercise.public_test_files, *(exercise.exercise_dir / s for s in exercise.support_files)]:
            assert (folder / path.name).read_bytes() == path.read_bytes()
        assert f"exercises/{exercise.folder}/" in (release / "README.md").read_text()


def test_nothing_of_the_solutions_reference_hidden_tests_or_points_is_in_it(release):
    names = {str(p.relative_to(release)) for p in release.rglob("*") if p.is_file()}
    assert not [n for n in names if n.endswith((".yaml", ".yml")) or n.split("/")[0] in
                ("solutions", "reference", "grader", "tests")]
    text = release_text(release)
    for exercise in MANIFESTS.values():
        regions = [r for r in solution_regions(exercise.solution_file) if r.count("\n") >= 1]
        assert regions, f"{exercise.solution_file} has no solution region of two lines or more to look for"
        assert [r for r in regions if r in text] == []
        hidden = exercise.hidden_test_file
        hidden_only = [n for n in re.findall(r"^def (test_\w+)", hidden.read_text(), re.M)
                       if n not in public_test_names(exercise)]
        assert [n for n in hidden_only if re.search(rf"\b{n}\b", text)] == []
        copied = [w for body in function_bodies(hidden, lambda n: n in hidden_only) for w in windows(body)
                  if w in text and w not in PUBLIC_CODE]
        assert copied == []
        manifest_lines = [line.strip() for line in exercise.manifest_path.read_text().splitlines()
                          if "points:" in line]
        assert manifest_lines and [line for line in manifest_lines if line in text] == []
    for module in (ROOT / "reference").glob("*.py"):
        assert [w for body in function_bodies(module) for w in windows(body)
                if w in text and w not in PUBLIC_CODE] == [], module


def test_the_readme_self_check_runs_the_public_tests(release):
    exercise = MANIFESTS["neuron_gradient"]
    command = [sys.executable, "-m", "pytest", f"exercises/{exercise.folder}", "-q", "-p", "no:cacheprovider"]
    on_stub = subprocess.run(command, cwd=release, capture_output=True, text=True, timeout=300)
    assert on_stub.returncode == 1 and "NotImplementedError" in on_stub.stdout
    solved = subprocess.run([*command, "--submission", str(exercise.solution_file.parent)], cwd=release,
                            capture_output=True, text=True, timeout=300)
    assert solved.returncode == 0, solved.stdout[-3000:]


def test_a_new_release_replaces_an_old_one_but_never_a_folder_of_other_files(tmp_path, capsys):
    out = tmp_path / "students"
    assert cli.main(["release", str(out), "--exercise", "neuron_gradient"]) == 0
    (out / "stale.txt").write_text("from an earlier release")
    assert cli.main(["release", str(out), "--exercise", "neuron_gradient"]) == 0
    assert not (out / "stale.txt").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    assert cli.main(["release", str(tmp_path / "mine")]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
