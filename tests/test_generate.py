"""The single-source generator: its rules, and that the committed student files match it."""
import ast
import json
import json
import textwrap
from pathlib import Path

from types import SimpleNamespace

import nbformat
import pytest

from grader import generate
from grader.generate import render_exercise, render_notebook, render_readme, render_stub
from grader.manifests import load_manifests
from grader.paths import ROOT

MANIFESTS = load_manifests()


def toy_exercise(root: Path, title="X") -> SimpleNamespace:
    """What the generator needs of an exercise, in a folder of the test's own."""
    return SimpleNamespace(title=title, folder="09_x", student_file="thing.py",
                           solution_file=root / "solutions" / "09_x" / "thing.py",
                           exercise_dir=root / "exercises" / "09_x", public_test_files=[],
                           public_tests=frozenset(), groups=(), mistakes={})


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


SOURCE = src('''
    # %% [markdown]
    # # Title
    #
    # Derive the gradient.
    #
    # ### BEGIN SOLUTION
    # dL/dw = x^T delta
    # ### END SOLUTION

    # %%
    import numpy as np


    def f(x):
        """Doc."""
        ### BEGIN SOLUTION
        return x + 1
        ### END SOLUTION


    class A:
        def g(self, y):
            if y:
                ### BEGIN SOLUTION
                return y
                ### END SOLUTION
            return 0


    # %%
    assert f(1) == 2
    ### BEGIN HIDDEN TESTS
    assert f(2) == 3
    ### END HIDDEN TESTS
    print("done")
    ''')


# ----------------------------------------------------------------------------- the stub

def test_code_region_becomes_placeholder_at_the_marker_indentation():
    stub = render_stub(SOURCE)
    assert '    """Doc."""\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\n\nclass A:' in stub
    assert ("        if y:\n            # YOUR CODE HERE\n"
            "            raise NotImplementedError()\n        return 0\n") in stub
    assert "return x + 1" not in stub and "return y\n" not in stub
    ast.parse(stub)


def test_markdown_answer_becomes_one_answer_line():
    stub = render_stub(SOURCE)
    assert "# Derive the gradient.\n#\n# YOUR ANSWER HERE\n\n# %%\n" in stub
    assert "x^T delta" not in stub


def test_hidden_tests_are_removed_entirely():
    stub = render_stub(SOURCE)
    assert "assert f(1) == 2\nprint(\"done\")\n" in stub
    assert "f(2)" not in stub and "HIDDEN" not in stub


def test_no_marker_is_left_and_the_rest_is_verbatim():
    stub = render_stub(SOURCE)
    assert "### BEGIN" not in stub and "### END" not in stub
    plain = src('''
        # %% [markdown]
        # Some text with ### inside

        # %%
        x = 1   # trailing spaces kept   
        ''')
    assert render_stub(plain) == plain
    assert render_stub(plain.rstrip("\n")) == plain.rstrip("\n")


@pytest.mark.parametrize("body, line, words", [
    ("x = 1\n### END SOLUTION\n", 2, "without a ### BEGIN"),
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", 2, "never closed"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n### END SOLUTION\n", 2, "nest"),
    ("### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS\n", 2, "nest"),
    ("### BEGIN HIDDEN TESTS\nx = 1\n### END SOLUTION\n", 3, "closes the ### BEGIN HIDDEN TESTS"),
    ("# %%\n### BEGIN SOLUTION\nx = 1\n# %%\n### END SOLUTION\n", 2, "before the next cell"),
])
def test_unbalanced_markers_name_the_file_and_line(body, line, words):
    with pytest.raises(ValueError) as info:
        render_stub(body, filename="solutions/x/y.py")
    message = str(info.value)
    assert message.startswith(f"solutions/x/y.py:{line}: ")
    assert words in message


# ----------------------------------------------------------------------------- the notebook

def test_notebook_has_no_outputs_and_is_deterministic():
    stub = render_stub(SOURCE)
    text = render_notebook(stub)
    assert text == render_notebook(stub)
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code"]
    assert [c.id for c in nb.cells] == ["cell-00", "cell-01", "cell-02"]
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert nb.metadata.kernelspec.name == "python3"
    assert "raise NotImplementedError()" in nb.cells[1].source
    assert nb.cells[0].source.endswith("YOUR ANSWER HERE")
    assert json.loads(text)["nbformat_minor"] == 5


# ----------------------------------------------------------------------------- the README

def test_readme_has_the_task_text_in_order_and_the_self_check(tmp_path):
    readme = render_readme(render_stub(SOURCE), toy_exercise(tmp_path))
    assert readme.startswith("# Title\n\nDerive the gradient.\n")
    assert "YOUR ANSWER HERE" in readme
    assert "import numpy" not in readme
    assert "pytest exercises/09_x" in readme and "thing.ipynb" in readme
    assert readme.index("Derive the gradient.") < readme.index("## Self-check")


def test_readme_gets_a_title_when_the_text_has_none(tmp_path):
    readme = render_readme("# %% [markdown]\n# Plain text.\n", toy_exercise(tmp_path, title="The title"))
    assert readme.startswith("# The title\n\nPlain text.\n")


# ----------------------------------------------------------------------------- writing and --check

def test_generate_writes_then_checks(tmp_path):
    exercise = toy_exercise(tmp_path)
    exercise.solution_file.parent.mkdir(parents=True)
    exercise.solution_file.write_text(SOURCE)
    out = exercise.exercise_dir
    expected = {out / "thing.py", out / "thing.ipynb", out / "README.md", out / "self_check.json"}

    assert set(generate.generate(check=True, exercises=[exercise])) == expected
    assert not out.exists()                                          # --check writes nothing
    assert set(generate.generate(exercises=[exercise])) == expected
    assert generate.generate(check=True, exercises=[exercise]) == []
    assert (out / "thing.py").read_text() == render_stub(SOURCE)
    (out / "thing.ipynb").write_text("{}")
    assert generate.generate(check=True, exercises=[exercise]) == [out / "thing.ipynb"]
    assert (out / "thing.ipynb").read_text() == "{}"


@pytest.mark.parametrize("exercise_id", sorted(MANIFESTS))
def test_the_notebook_checks_each_task_after_the_cell_that_completes_it(exercise_id):
    exercise = MANIFESTS[exercise_id]
    cells = nbformat.read(exercise.exercise_dir / f"{exercise.module}.ipynb", as_version=4).cells
    checks = [i for i, cell in enumerate(cells) if "nnex-check" in cell.metadata.get("tags", [])]
    tasks = generate.public_tasks(exercise)
    assert [cells[i].source.splitlines()[-1] for i in checks] == [f"check({t!r})" for t in tasks] + ["check_all()"]
    assert checks[-1] == len(cells) - 1
    for index in checks[:-1]:  # right after code that defines a function the task's tests call
        assert cells[index - 1].cell_type == "code" and "def " in cells[index - 1].source
    data = json.loads((exercise.exercise_dir / "self_check.json").read_text())
    assert data["tasks"] == tasks and set(data["hints"]) == set(exercise.mistakes)


def test_an_unbalanced_marker_is_reported_with_its_line(tmp_path):
    exercise = toy_exercise(tmp_path)
    exercise.solution_file.parent.mkdir(parents=True)
    exercise.solution_file.write_text("### END SOLUTION\n")
    with pytest.raises(ValueError, match="thing.py:1:"):
        generate.generate(check=True, exercises=[exercise])


# ----------------------------------------------------------------------------- the committed files

@pytest.mark.parametrize("exercise_id", list(MANIFESTS))
def test_committed_student_files_match_the_generator(exercise_id):
    exercise = MANIFESTS[exercise_id]
    drifted = [str(path.relative_to(ROOT)) for path, text in render_exercise(exercise).items()
               if not path.is_file() or path.read_text(encoding="utf-8") != text]
    assert not drifted, (f"generated files differ from solutions/{exercise.folder}: {drifted}; "
                         "run python -m grader.generate")


@pytest.mark.parametrize("exercise_id", list(MANIFESTS))
def test_stub_parses_and_defines_every_listed_function(exercise_id):
    exercise = MANIFESTS[exercise_id]
    stub = render_stub(exercise.solution_file.read_text(encoding="utf-8"), filename=str(exercise.solution_file))
    tree = ast.parse(stub, filename=exercise.student_file)
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    missing = [name for name in exercise.functions if name not in defined]
    assert not missing, f"the stub of {exercise.id} does not define {missing}"
    assert "### BEGIN" not in stub and "### END" not in stub


def test_the_generate_command_checks_the_tree(capsys):
    assert generate.main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out
