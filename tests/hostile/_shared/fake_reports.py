"""Shared part (fake_results, daemon_rewrites_report): fake full-marks reports, and writing them over the grader's."""
import json
import os

_FAKE = {"submissions": [{"id": "fake_results", "score": 1000.0, "max_score": 1000.0,
                          "exercises": [{"id": "neuron_gradient", "score": 1000.0, "max_score": 1000.0,
                                         "status": "graded", "message": "",
                                         "tests": [{"name": "test_all", "score": 1000.0, "max_score": 1000.0,
                                                    "passed": True, "message": ""}]}]}],
         "isolation": "full"}
_FAKE_JSON = json.dumps(_FAKE)
_FAKE_CSV = "id,score,max_score,neuron_gradient\nfake_results,1000.0,1000.0,1000.0\n"


def _write(path, text):
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)
        return True
    except OSError:
        return False


def _ancestors():
    """This process's ancestors, nearest first (the grader that grades it, wherever it can see it)."""
    pids, pid = [], os.getpid()
    while pid > 1 and len(pids) < 32:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                pid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        pids.append(pid)
    return pids


def _report_paths_of_graders():
    """The --json/--csv/--gradescope/--feedback paths on the command lines of this process's ancestors.

    (Only ancestors: with reduced isolation every process of the machine is visible, and other
    graders' reports are not this test's business.)
    """
    found = []
    for pid in _ancestors():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                parts = [p.decode(errors="replace") for p in handle.read().split(b"\0")]
        except OSError:
            continue
        for option in ("--json", "--csv", "--gradescope", "--feedback"):
            for i, part in enumerate(parts[:-1]):
                path = None
                if part == option:
                    path = parts[i + 1]
                elif part.startswith(option + "="):
                    path = part.split("=", 1)[1]
                if path is None:
                    continue
                if not os.path.isabs(path):
                    try:
                        path = os.path.join(os.readlink(f"/proc/{pid}/cwd"), path)
                    except OSError:
                        pass
                found.append((option, path))
    return found


def _overwrite_reports():
    hits = 0
    for option, path in _report_paths_of_graders():
        if option == "--feedback":
            hits += _write(os.path.join(path, "fake_results.md"), "# Feedback\nTotal: 1000 / 1000\n")
        else:
            hits += _write(path, _FAKE_CSV if option == "--csv" else _FAKE_JSON)
    return hits
