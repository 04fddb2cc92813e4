"""Exercise 05 forbids torch's own attention: a file that reaches F.scaled_dot_product_attention or
nn.MultiheadAttention, under any of the names a student would write, scores 0 with a message that
names the line, even though its answers are right. All cases are graded in one run of the command
line."""
import json
import re
import subprocess
import sys

import pytest

from grader.manifests import load_manifests
from grader.paths import ROOT

EXERCISE = load_manifests()["attention"]
SOLVED_HEAD = "return pattern @ v, pattern"  # the last line of the solution's attention_head
# name: (line added after `import torch`, what replaces attention_head's last line, the forbidden name)
CASES = {
    "from_import": ("from torch.nn.functional import scaled_dot_product_attention",
                    "scaled_dot_product_attention(q, k, v, is_causal=causal)", "scaled_dot_product_attention"),
    "from_import_as": ("from torch.nn.functional import scaled_dot_product_attention as sdpa",
                       "sdpa(q, k, v, is_causal=causal)", "scaled_dot_product_attention"),
    "full_path": ("", "torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)",
                  "scaled_dot_product_attention"),
    "module_alias": ("import torch.nn.functional as F", "F.scaled_dot_product_attention(q, k, v, is_causal=causal)",
                     "scaled_dot_product_attention"),
    "getattr": ("import torch.nn.functional as F",
                'getattr(F, "scaled_dot_product_attention")(q, k, v, is_causal=causal)',
                "scaled_dot_product_attention"),
    "nn_multihead": ("from torch import nn", "nn.MultiheadAttention(q.shape[-1], 1)(q, k, v)[0]",
                     "MultiheadAttention"),
    "multihead_import_as": ("from torch.nn import MultiheadAttention as Attention",
                            "Attention(q.shape[-1], 1)(q, k, v)[0]", "MultiheadAttention"),
}


def forbidden_source(extra_import: str, call: str) -> str:
    source = EXERCISE.solution_file.read_text()
    assert source.count(SOLVED_HEAD) == 1 and source.count("\nimport torch\n") == 1
    source = source.replace(SOLVED_HEAD, f"return {call}, pattern")
    return source.replace("\nimport torch\n", f"\nimport torch\n{extra_import}\n")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{case: (the exercise's result, the source graded)}, from one run of nnex grade."""
    root = tmp_path_factory.mktemp("forbidden")
    sources, folders = {}, []
    for case, (extra_import, call, _) in CASES.items():
        folder = root / case / EXERCISE.folder
        folder.mkdir(parents=True)
        sources[case] = forbidden_source(extra_import, call)
        (folder / EXERCISE.student_file).write_text(sources[case])
        folders.append(folder.parent)
    report = root / "report.json"
    run = subprocess.run([sys.executable, "-m", "grader", "grade", *map(str, folders), "--exercise", EXERCISE.id,
                          "--json", str(report)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr
    return {s["id"]: (s["exercises"][0], sources[s["id"]]) for s in json.loads(report.read_text())["submissions"]}


@pytest.mark.parametrize("case", list(CASES))
def test_torch_attention_scores_zero_with_the_line_named(graded, case):
    result, source = graded[case]
    name = CASES[case][2]
    assert result["score"] == 0 and result["status"] == "error"
    assert all(not t["passed"] and name in t["message"] for t in result["tests"])
    first = re.search(rf"line (\d+): {name} is not allowed", result["message"])
    assert first, result["message"]
    assert name in source.splitlines()[int(first.group(1)) - 1]


def test_the_masks_are_found_without_importing_the_modules_that_hold_them():
    # importing torch._higher_order_ops to find flex_attention's file imports much of PyTorch's
    # compiler: seconds before the first PyTorch job could start
    code = ("import sys; from pathlib import Path\n"
            "from grader.manifests import load_manifests\n"
            "from grader.sandbox import forbidden_files, launcher\n"
            "f = load_manifests()['attention'].forbidden\n"
            "found = forbidden_files.masks(f.imports, f.modules, f.functions, tuple(launcher._bound_prefixes()))\n"
            "print(len(found), sorted(m for m in sys.modules if m.startswith('torch.')))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    count, imported = out.split(" ", 1)
    assert int(count) >= len(EXERCISE.forbidden.functions), out  # each function's file, patched
    assert imported.strip() == "[]", out
