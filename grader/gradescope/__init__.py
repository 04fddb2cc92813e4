"""A Gradescope autograder: ``nnex gradescope build OUT.zip [--exercise ID]... [--count-missing]``.

The zip holds what Gradescope's autograder specification asks for at its root, ``setup.sh`` (run
once, as root, when Gradescope builds the image) and ``run_autograder`` (run for each submission,
copied to /autograder/run_autograder), beside the grader's own trees (grader/, reference/,
exercises/; never solutions/ nor the project's tests) and ``requirements.txt``.

setup.sh installs bubblewrap (the sandbox), the builder's Python version (through uv, wherever
the base image's Python differs) and every package at the version the builder has installed,
torch as its CPU build, into /autograder/venv. run_autograder grades /autograder/submission with
``python -m grader grade ... --gradescope /autograder/results/results.json``. Both find
/autograder from where they are, so a test runs them in a folder laid out the same way.

The same grader and environment give the same zip, byte for byte.
"""
from __future__ import annotations

import importlib.metadata
import os
import sys
import zipfile
from pathlib import Path

import jinja2
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from grader.paths import ROOT

SOURCE_TREES = ("grader", "reference", "exercises")  # what grading needs of the checkout
LEFT_OUT = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints"}
TEMPLATES = Path(__file__).parent
UV = "uv==0.13.8"  # brings the builder's Python version to any base image
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so that the same input gives the same bytes


class BuildError(Exception):
    """The autograder cannot be built; the message says why."""


def _project_requirements() -> list[str]:
    """The grader's own dependencies: pyproject.toml's in a checkout, else the installed package's."""
    pyproject = ROOT / "pyproject.toml"
    if pyproject.is_file() and sys.version_info >= (3, 11):
        import tomllib

        return tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    return importlib.metadata.requires("nn-exercises") or []


def pinned_requirements() -> tuple[list[str], str]:
    """(``name==version`` for every package the grader needs, torch's dependencies included but
    not torch, sorted; the pin of torch's CPU build), from what this environment has installed.

    Raises BuildError naming a package that is required and not installed.
    """
    pins: dict[str, str] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(Requirement(text), "") for text in _project_requirements()]
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        if (name, frozenset(requirement.extras)) in seen:
            continue
        seen.add((name, frozenset(requirement.extras)))
        try:
            distribution = importlib.metadata.distribution(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            raise BuildError(f"{requirement} is required by the grader and not installed here; "
                             "build the autograder from the environment that grades (make setup)") from None
        pins[name] = distribution.version
        todo += [(Requirement(text), wanted) for text in distribution.requires or []
                 for wanted in ("", *sorted(requirement.extras))]
    torch = pins.pop("torch", None)
    if torch is None:
        raise BuildError("torch is required by the grader and not installed here")
    return sorted(f"{name}=={version}" for name, version in pins.items()), f"torch=={Version(torch).public}+cpu"


def _source_files() -> list[tuple[str, Path]]:
    """(name in the zip, file) for the grader's trees, sorted."""
    files = []
    for tree in SOURCE_TREES:
        for folder, folders, names in os.walk(ROOT / tree):
            folders[:] = [f for f in folders if f not in LEFT_OUT and not f.startswith(".")]
            for name in names:
                if not name.startswith(".") and not name.endswith(".pyc"):
                    path = Path(folder) / name
                    files.append((path.relative_to(ROOT).as_posix(), path))
    return sorted(files)


def _add(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    entry = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    entry.external_attr = (0o100755 if executable else 0o100644) << 16
    entry.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(entry, data)


def build_autograder(out: Path, exercise_ids: list[str], count_missing: bool = False) -> None:
    """Write the autograder zip to ``out``; it grades ``exercise_ids`` (all the given ones: the
    caller checks them). Raises BuildError."""
    requirements, torch = pinned_requirements()
    options = [option for exercise_id in exercise_ids for option in ("--exercise", exercise_id)]
    if count_missing:
        options.append("--count-missing")
    templates = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), keep_trailing_newline=True,
                                   undefined=jinja2.StrictUndefined)
    context = {"python": f"{sys.version_info.major}.{sys.version_info.minor}", "uv": UV, "torch": torch,
               "torch_index": TORCH_CPU_INDEX, "options": " ".join(options)}
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w") as archive:
        for script in ("setup.sh", "run_autograder"):
            _add(archive, script, templates.get_template(f"{script}.j2").render(context).encode(), executable=True)
        _add(archive, "requirements.txt", "".join(f"{line}\n" for line in requirements).encode())
        for name, path in _source_files():
            _add(archive, name, path.read_bytes())
