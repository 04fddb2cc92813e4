"""Hostile: prints fake results and writes fake report files (cwd, HOME, /tmp, the grader's --json path); the stub."""
import functools
import os
import sys
import tempfile

BASE = "stub"
SHARED = ("fake_reports",)


def _fake_everything():
    print(_FAKE_JSON)
    print("========================= 10 passed in 0.01s =========================")
    print("neuron_gradient: 10/10 passed")
    sys.stderr.write("10/10 passed\n")
    sys.stdout.flush()
    for place in {os.getcwd(), os.path.expanduser("~"), tempfile.gettempdir()}:
        for name in ("report.json", "results.json", "grades.json", "scores.csv", "grades.csv"):
            _write(os.path.join(place, name), _FAKE_CSV if name.endswith(".csv") else _FAKE_JSON)
    for name in ("nnex-hostile-fake-report.json", "nnex-hostile-fake-grades.csv"):  # the real /tmp
        _write(os.path.join("/tmp", name), _FAKE_CSV if name.endswith(".csv") else _FAKE_JSON)
    _overwrite_reports()


def _faking_first(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        _fake_everything()
        return function(*args, **kwargs)
    return wrapper


_fake_everything()
for _name in ("sigmoid", "sigmoid_prime", "neuron_forward", "mse_loss", "neuron_gradients", "numerical_gradient",
              "gradient_descent"):
    globals()[_name] = _faking_first(globals()[_name])
