"""The single-source generator: its rules, and that the committed student files match it."""
import ast
import json
import textwrap
from pathlib import Path

import nbformat
import pytest
import yaml

from grader import generate
from grader.generate import render_exercise, render_notebook, render_readme, render_stub

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = sorted(p for p in (ROOT / "grader" / "manifests").glob("*.yaml") if p.name != "schema.yaml")


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

def test_readme_has_the_task_text_in_order_and_the_self_check():
    manifest = {"id": "x", "title": "X", "folder": "09_x", "student_file": "thing.py"}
    readme = render_readme(render_stub(SOURCE), manifest)
    assert readme.startswith("# Title\n\nDerive the gradient.\n")
    assert "YOUR ANSWER HERE" in readme
    assert "import numpy" not in readme
    assert "pytest exercises/09_x" in readme and "thing.ipynb" in readme
    assert readme.index("Derive the gradient.") < readme.index("## Self-check")


def test_readme_gets_a_title_when_the_text_has_none():
    readme = render_readme("# %% [markdown]\n# Plain text.\n", {"title": "The title", "folder": "09_x",
                                                               "student_file": "thing.py"})
    assert readme.startswith("# The title\n\nPlain text.\n")


# ----------------------------------------------------------------------------- writing and --check

def test_generate_writes_then_checks(tmp_path, capsys):
    (tmp_path / "grader" / "manifests").mkdir(parents=True)
    (tmp_path / "grader" / "manifests" / "x.yaml").write_text(
        "id: x\ntitle: X\nfolder: 09_x\nstudent_file: thing.py\n")
    (tmp_path / "grader" / "manifests" / "schema.yaml").write_text("type: object\n")
    (tmp_path / "solutions" / "09_x").mkdir(parents=True)
    (tmp_path / "solutions" / "09_x" / "thing.py").write_text(SOURCE)
    out = tmp_path / "exercises" / "09_x"
    expected = {out / "thing.py", out / "thing.ipynb", out / "README.md"}

    assert set(generate.generate(check=True, root=tmp_path)) == expected
    assert not out.exists()                                          # --check writes nothing
    assert set(generate.generate(root=tmp_path)) == expected
    assert generate.generate(check=True, root=tmp_path) == []
    assert (out / "thing.py").read_text() == render_stub(SOURCE)

    (out / "thing.ipynb").write_text("{}")
    assert generate.main(["--check", "--root", str(tmp_path)]) == 1
    assert "exercises/09_x/thing.ipynb" in capsys.readouterr().out
    assert (out / "thing.ipynb").read_text() == "{}"
    assert generate.main(["--root", str(tmp_path)]) == 0
    assert generate.main(["--check", "--root", str(tmp_path)]) == 0

    (tmp_path / "solutions" / "09_x" / "thing.py").write_text("### END SOLUTION\n")
    assert generate.main(["--check", "--root", str(tmp_path)]) == 2
    assert "thing.py:1:" in capsys.readouterr().err


# ----------------------------------------------------------------------------- the committed files

@pytest.mark.parametrize("manifest_path", MANIFESTS, ids=[p.stem for p in MANIFESTS])
def test_committed_student_files_match_the_generator(manifest_path):
    manifest = yaml.safe_load(manifest_path.read_text())
    drifted = []
    for path, text in render_exercise(manifest, ROOT).items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            drifted.append(str(path.relative_to(ROOT)))
    assert not drifted, (f"generated files differ from solutions/{manifest['folder']}: {drifted}; "
                         "run python -m grader.generate")


@pytest.mark.parametrize("manifest_path", MANIFESTS, ids=[p.stem for p in MANIFESTS])
def test_stub_parses_and_defines_every_listed_function(manifest_path):
    manifest = yaml.safe_load(manifest_path.read_text())
    source = ROOT / "solutions" / manifest["folder"] / manifest["student_file"]
    stub = render_stub(source.read_text(encoding="utf-8"), filename=str(source))
    tree = ast.parse(stub, filename=manifest["student_file"])
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    missing = [name for name in manifest["functions"] if name not in defined]
    assert not missing, f"the stub of {manifest['id']} does not define {missing}"
    assert "### BEGIN" not in stub and "### END" not in stub


def test_generate_check_passes_on_the_tree():
    if not MANIFESTS:
        pytest.skip("no exercise manifest yet")
    assert generate.generate(check=True) == []
