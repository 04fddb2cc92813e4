"""The judge's pictures in the reports: which test drew each, and each as a compact PNG.

A test asks for a picture with ``figures.add(name, draw)`` (grader/judge/figures.py) and the file is
``<exercise id>-<name>.png``. The result lists the files, not the tests; the test that drew one is
found in the test files: the test function that takes ``figures`` and whose code holds the name.
"""
from __future__ import annotations

import ast
import base64
import io
import re
from functools import lru_cache
from pathlib import Path

from PIL import Image


def _file_part(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)  # as figures.py names the file


@lru_cache(maxsize=None)
def _drawing_tests(test_files: tuple[Path, ...]) -> tuple[tuple[str, frozenset[str]], ...]:
    """(test name, the strings in its code) for each test that takes ``figures``, in file order."""
    drawing = []
    for path in test_files:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_") \
                    and any(arg.arg == "figures" for arg in node.args.args):
                strings = frozenset(_file_part(n.value) for n in ast.walk(node)
                                    if isinstance(n, ast.Constant) and isinstance(n.value, str))
                drawing.append((node.name, strings))
    return tuple(drawing)


def drawn_by(exercise, filename: str) -> str | None:
    """The name of the test of ``exercise`` that drew the picture ``filename``: the one whose code
    names it, else the first that draws at all; None where no test draws."""
    drawing = _drawing_tests((*exercise.public_test_files, exercise.hidden_test_file))
    name = filename.removeprefix(f"{exercise.id}-").removesuffix(".png")
    named = [test for test, strings in drawing if name in strings]
    return (named or [test for test, _ in drawing] or [None])[0]


def caption(exercise_id: str, filename: str) -> str:
    """What a picture shows, from its file name: numpy_mlp-moons.png is "moons"."""
    return re.sub(r"[-_]+", " ", filename.removeprefix(f"{exercise_id}-").removesuffix(".png")).strip()


def compact_png(path: Path) -> bytes:
    """The picture as a PNG of at most 256 colours: a third of the judge's file, alike to the eye
    for plots of lines, points and colour maps; the same file gives the same bytes."""
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return out.getvalue()


def data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(compact_png(path)).decode("ascii")
