"""What only a warm child could get wrong: it is forked from a zygote that holds privileges, beside
other children of the same zygote. Each must see none of them, hold no privilege and share no
channel with them. (Every property a cold child has is tested for warm children too, in
test_sandbox.py.)"""
from __future__ import annotations

import os
import textwrap
import types
from pathlib import Path

import pytest

from grader.judge.proxy import StudentProxy
from grader.sandbox import launcher, warm
from grader.sandbox.launcher import Forbidden, Limits

WARM, WHY = warm.start_mode()
pytestmark = pytest.mark.skipif(not WARM, reason=f"no warm start here: {WHY}")


@pytest.fixture(scope="module", autouse=True)
def _zygotes():
    yield
    warm.close_all()


@pytest.fixture
def child(tmp_path):
    """child(source, library="numpy") -> a StudentProxy whose children are forked from a zygote."""
    proxies = []

    def make(source: str, library: str = "numpy") -> StudentProxy:
        exercise = types.SimpleNamespace(module="student_code", student_file="student_code.py", support_files=(),
                                         exercise_dir=tmp_path, library=library, forbidden=Forbidden(),
                                         limits=Limits(call_timeout_s=60, total_timeout_s=120, memory_mb=2048,
                                                       cpu_s=60))
        warm.prepare([(library, exercise.forbidden)])
        assert warm.zygote_for(library, exercise.forbidden) is not None or not warm.start_mode()[0]
        proxy = StudentProxy(exercise, textwrap.dedent(source))
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()


INSPECT = """
    import ctypes
    import os

    def processes():
        return sorted(int(p) for p in os.listdir("/proc") if p.isdigit())

    def status():
        lines = open("/proc/self/status").read().splitlines()
        fields = dict(line.split(":", 1) for line in lines)
        return {k: fields[k].strip() for k in ("Uid", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs")}

    def dumpable():
        return ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE

    def descriptors():
        found = {}
        for fd in os.listdir("/proc/self/fd"):  # the listing's own descriptor is closed by now
            if int(fd) > 2 and os.path.exists(f"/proc/self/fd/{fd}"):
                found[fd] = os.readlink(f"/proc/self/fd/{fd}")
        return found
"""


def test_a_warm_child_sees_no_process_but_its_own(child):
    first, second = child(INSPECT), child(INSPECT)
    assert first.processes() == [1]  # pid 1 of its own namespace: not the zygote, not its neighbour
    assert second.processes() == [1]


def test_a_warm_child_holds_no_capability_and_cannot_gain_one(child):
    status = child(INSPECT).status()
    assert status["Uid"].split()[0] != "0" and len(set(status["Uid"].split())) == 1
    assert {status[k] for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")} == {"0000000000000000"}
    assert status["NoNewPrivs"] == "1"
    assert child(INSPECT).dumpable() == 0


def test_a_warm_child_holds_only_its_own_two_pipes(child):
    first = child(INSPECT)
    child(INSPECT).processes()  # a neighbour, so that the zygote holds its sockets and pipes too
    held = first.descriptors()
    assert len(held) == 2 and all(target.startswith("pipe:") for target in held.values()), held


def test_warm_children_share_no_channel_and_no_state(child):
    source = """
        import ctypes
        import os
        import socket

        import numpy as np

        libc = ctypes.CDLL(None, use_errno=True)
        KEY = 0x4E4E4558

        def leave():
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.bind("\\0nnex-warm-neighbour")
            server.listen()
            globals()["server"] = server
            with open("/dev/shm/left", "w") as out:
                out.write("x")
            with open("/tmp/left", "w") as out:
                out.write("x")
            np.left_behind = True
            return libc.semget(KEY, 1, 0o1666)  # IPC_CREAT, usable by all (SysV memory is refused)

        def find():
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                client.connect("\\0nnex-warm-neighbour")
                reached = True
            except OSError:
                reached = False
            return {"socket": reached, "shm file": os.path.exists("/dev/shm/left"),
                    "tmp file": os.path.exists("/tmp/left"), "numpy": hasattr(np, "left_behind"),
                    "sysv semaphore": libc.semget(KEY, 0, 0) != -1}
    """
    first, second = child(source), child(source)
    assert first.leave() >= 0
    assert first.find() == {"socket": True, "shm file": True, "tmp file": True, "numpy": True, "sysv semaphore": True}
    assert second.find() == {"socket": False, "shm file": False, "tmp file": False, "numpy": False,
                             "sysv semaphore": False}


def test_the_zygote_runs_one_thread_and_outlives_its_children(child):
    proxy = child("def f():\n    return 1\n")
    assert proxy.f() == 1
    zygote = warm.zygote_for("numpy", Forbidden())
    below = [pid for pid, parent in launcher._process_table().items() if parent == zygote.process.pid]
    inside = [pid for pid, parent in launcher._process_table().items() if parent in below]
    pythons = [pid for pid in inside if Path(f"/proc/{pid}/comm").read_text().startswith("python")]
    assert len(pythons) == 1  # the zygote, pid 2 below bubblewrap's init
    assert len(os.listdir(f"/proc/{pythons[0]}/task")) == 1  # a forked thread pool would be half a pool
    proxy.close()
    assert zygote.alive() and child("def f():\n    return 2\n").f() == 2


def test_a_torch_child_starts_from_a_fresh_generator_not_the_zygotes_warm_up(child):
    source = """
        import random

        import numpy as np
        import torch

        def draw():
            first = torch.rand(4).tolist()
            torch.manual_seed(torch.initial_seed())  # back to where a fresh interpreter's generator starts
            return [random.random(), float(np.random.rand()), first == torch.rand(4).tolist()]
    """
    draws = [child(source, library="torch").draw() for _ in range(2)]
    assert draws[0] == draws[1] and draws[0][2] is True


def test_the_zygotes_a_batch_needs_start_side_by_side(monkeypatch):
    # each takes a second or two to import PyTorch: one after the other, they would hold up the first jobs
    events = []

    class Starting:
        def __init__(self, library, forbidden):
            self.library = library
            events.append(("start", library))

        def wait_ready(self):
            events.append(("ready", self.library))

        def alive(self):
            return True

        def close(self):
            pass

    monkeypatch.setattr(warm, "Zygote", Starting)
    monkeypatch.setattr(warm, "_ZYGOTES", {})
    warm.prepare([("torch", Forbidden(functions=("a.b",))), ("torch", Forbidden()), ("numpy", Forbidden())])
    assert [kind for kind, _ in events] == ["start"] * 3 + ["ready"] * 3
    assert len(warm._ZYGOTES) == 3
