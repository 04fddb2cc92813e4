"""Where the package's trees live: the checkout, or site-packages after a non-editable install."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"
SOLUTIONS = ROOT / "solutions"
MANIFESTS = ROOT / "grader" / "manifests"
HIDDEN_TESTS = ROOT / "grader" / "hidden"
