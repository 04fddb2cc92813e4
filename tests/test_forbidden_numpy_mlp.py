"""Exercise 02 is NumPy only: a mlp.py that imports torch, plainly or behind importlib, scores 0
on every test, and the report says why."""
import json
import subprocess
import sys

from grader.manifests import load_manifests
from grader.paths import ROOT

EXERCISE = load_manifests()["numpy_mlp"]
IMPORTS = {
    "plain_import": "import torch\n",
    "hidden_import": "import importlib\ntorch = importlib.import_module('tor' + 'ch')\n",
}


def test_importing_torch_costs_the_exercise_with_a_clear_message(tmp_path):
    solution = EXERCISE.solution_file.read_text()
    assert solution.count("import numpy as np\n") == 1
    folders = []
    for name, line in IMPORTS.items():
        folder = tmp_path / name / EXERCISE.folder
        folder.mkdir(parents=True)
        (folder / EXERCISE.student_file).write_text(solution.replace("import numpy as np\n",
                                                                     "import numpy as np\n" + line))
        folders.append(tmp_path / name)
    report = tmp_path / "report.json"
    run = subprocess.run([sys.executable, "-m", "grader", "grade", *map(str, folders), "--exercise", EXERCISE.id,
                          "--json", str(report)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    for submission in json.loads(report.read_text())["submissions"]:
        (result,) = submission["exercises"]
        assert result["score"] == 0 and result["status"] == "error", submission["id"]
        assert "torch" in result["message"] and "not allowed" in result["message"], result["message"]
        assert all(not t["passed"] and "not allowed" in t["message"] for t in result["tests"])
