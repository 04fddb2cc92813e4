"""Manifests agree with the files they describe, and a wrong one is reported precisely."""
import ast

import pytest
import yaml

from grader.manifests import ManifestError, load_manifest, load_manifests

MANIFESTS = load_manifests()


def names_of_tests(path):
    return {node.name for node in ast.parse(path.read_text()).body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def defined_functions(path):
    return {node.name for node in ast.parse(path.read_text()).body if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize("exercise_id", list(MANIFESTS))
def test_every_test_has_points_and_every_point_has_a_test(exercise_id):
    exercise = MANIFESTS[exercise_id]
    files = [*exercise.public_test_files, exercise.hidden_test_file]
    written = set().union(*(names_of_tests(p) for p in files))
    assert written == {t.name for t in exercise.tests}
    public = set().union(*(names_of_tests(p) for p in exercise.public_test_files))
    assert not public & names_of_tests(exercise.hidden_test_file), "a test name is both public and hidden"


@pytest.mark.parametrize("exercise_id", list(MANIFESTS))
def test_the_solution_defines_every_required_function(exercise_id):
    exercise = MANIFESTS[exercise_id]
    assert set(exercise.functions) <= defined_functions(exercise.solution_file)


@pytest.mark.parametrize("edit, where", [
    (lambda m: m.pop("limits"), "at the top level: 'limits' is a required property"),
    (lambda m: m["groups"][0]["tests"][0].update(points=0), "at groups/0/tests/0/points"),
    (lambda m: m.update(library="jax"), "at library"),
    (lambda m: m.update(folder="99_nowhere"), "at folder"),
    (lambda m: m["groups"][0]["tests"].append(dict(m["groups"][0]["tests"][0])), "tests listed twice"),
    (lambda m: m.update(surprise=1), "Additional properties are not allowed"),
])
def test_a_wrong_manifest_is_refused_naming_the_file_and_the_key(tmp_path, edit, where):
    exercise = next(iter(MANIFESTS.values()))
    data = yaml.safe_load(exercise.manifest_path.read_text())
    edit(data)
    path = tmp_path / exercise.manifest_path.name
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ManifestError) as error:
        load_manifest(path)
    assert str(path) in str(error.value) and where in str(error.value)


def test_a_manifest_that_is_not_yaml_is_refused(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: [unclosed\n")
    with pytest.raises(ManifestError, match="broken.yaml: cannot be read as YAML"):
        load_manifest(path)
