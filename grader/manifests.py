"""Exercise manifests: grader/manifests/<id>.yaml, validated against grader/manifests/schema.yaml."""
from __future__ import annotations

import ast
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, cached_property
from pathlib import Path

import jsonschema
import yaml

from grader.paths import EXERCISES, HIDDEN_TESTS, MANIFESTS, SOLUTIONS
from grader.sandbox.launcher import Forbidden, Limits


class ManifestError(Exception):
    """A manifest that cannot be used; the message names the file, the key and what is wrong."""


@dataclass(frozen=True)
class TestPoints:
    name: str
    points: float
    group: str


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    folder: str
    student_file: str
    library: str
    support_files: tuple[str, ...]
    functions: tuple[str, ...]
    limits: Limits
    forbidden_imports: tuple[str, ...]
    forbidden_names: tuple[str, ...]
    forbidden: Forbidden  # what the sandbox keeps from the student's code (forbidden_names: the static check's)
    groups: tuple[dict, ...]
    mistakes: dict
    manifest_path: Path
    score_resolution: float = 0.01
    hidden_tests_visibility: str = "after_published"

    @property
    def module(self) -> str:
        return Path(self.student_file).stem

    @property
    def exercise_dir(self) -> Path:
        return EXERCISES / self.folder

    @property
    def solution_file(self) -> Path:
        return SOLUTIONS / self.folder / self.student_file

    @property
    def public_test_files(self) -> list[Path]:
        return sorted(self.exercise_dir.glob("test_*.py"))

    @property
    def hidden_test_file(self) -> Path:
        return HIDDEN_TESTS / f"test_{self.id}.py"

    @cached_property
    def tests(self) -> tuple[TestPoints, ...]:
        return tuple(TestPoints(t["test"], float(t["points"]), g["name"])
                     for g in self.groups for t in g["tests"])

    @cached_property
    def public_tests(self) -> frozenset[str]:
        """The names of the tests that students have (exercises/<folder>/test_*.py); the others are hidden."""
        return frozenset(node.name for path in self.public_test_files
                         for node in ast.parse(path.read_text(encoding="utf-8")).body
                         if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"))

    @property
    def max_score(self) -> float:
        return self.round_score(sum(t.points for t in self.tests))

    def round_score(self, value: float) -> float:
        """``value`` rounded (half up) to the manifest's score_resolution, without binary residue:
        0.1 + 0.2 gives 0.3, 1.25 * 2 / 3 gives 0.83."""
        step = Decimal(repr(self.score_resolution))
        steps = (Decimal(repr(float(value))) / step).quantize(Decimal(1), ROUND_HALF_UP)
        return float(steps * step)


# libyaml's loader where PyYAML has it: the pure-Python one takes about a second for the manifests
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(text: str):
    return yaml.load(text, Loader=SAFE_LOADER)


@cache
def _common_mistakes() -> dict:
    """The mistakes every exercise can have (grader/manifests/common/mistakes.yaml)."""
    return _read_yaml((MANIFESTS / "common" / "mistakes.yaml").read_text())


@cache
def _schema() -> dict:
    return _read_yaml((MANIFESTS / "schema.yaml").read_text())


def load_manifest(path: Path) -> Exercise:
    """Read and validate one manifest; ManifestError says what is wrong and where."""
    try:
        data = _read_yaml(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ManifestError(f"{path}: cannot be read as YAML: {error}") from None
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{path}: at {'/'.join(map(str, e.absolute_path)) or 'the top level'}: {e.message}"
                 for e in errors[:5]]
        raise ManifestError("\n".join(lines))
    names = [t["test"] for g in data["groups"] for t in g["tests"]]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ManifestError(f"{path}: at groups: tests listed twice: {', '.join(duplicates)}")
    if path.stem != data["id"]:
        raise ManifestError(f"{path}: at id: {data['id']!r} should match the file name {path.stem!r}")
    limits = Limits(**data["limits"])
    exercise = Exercise(
        id=data["id"], title=data["title"], folder=data["folder"], student_file=data["student_file"],
        library=data["library"], support_files=tuple(data.get("support_files", [])),
        functions=tuple(data["functions"]), limits=limits,
        forbidden_imports=tuple(data["forbidden"]["imports"]),
        forbidden_names=tuple(data["forbidden"]["names"]),
        forbidden=Forbidden(**{key: tuple(data["forbidden"].get(key, ()))
                               for key in ("imports", "functions", "operators", "modules")}),
        groups=tuple(data["groups"]), mistakes={**_common_mistakes(), **data["mistakes"]}, manifest_path=path,
        score_resolution=float(data.get("score_resolution", 0.01)),
        hidden_tests_visibility=data.get("hidden_tests_visibility", "after_published"))
    for key, required in (("folder", exercise.exercise_dir), ("id", exercise.hidden_test_file)):
        if not required.exists():
            raise ManifestError(f"{path}: at {key}: {required} does not exist")
    for support in exercise.support_files:
        if not (exercise.exercise_dir / support).is_file():
            raise ManifestError(f"{path}: at support_files: {exercise.exercise_dir / support} does not exist")
    return exercise


def load_manifests(directory: Path = MANIFESTS) -> dict[str, Exercise]:
    """Every manifest in ``directory``, by id, in the order of their folders."""
    if not directory.is_dir():
        raise ManifestError(f"{directory}: no such folder of manifests")
    exercises = [load_manifest(p) for p in sorted(directory.glob("*.yaml")) if p.name != "schema.yaml"]
    if not exercises:
        raise ManifestError(f"{directory}: holds no manifest")
    return {e.id: e for e in sorted(exercises, key=lambda e: e.folder)}
