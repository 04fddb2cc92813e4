"""Direct tests of the sandbox (grader/sandbox/launcher.py) and of the judge's `student` proxy.

Each test gives the proxy a small inline "student" file and checks what crosses the boundary.
Run with ``pytest -s`` to see the measured figures (start-up cost, call round trip, torch import
under RLIMIT_AS).
"""
from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import random
import socket
import subprocess
import sys
import textwrap
import time
import types
import zlib
from pathlib import Path

import numpy as np
import pytest

from grader.judge.proxy import Handle, StudentError, StudentProxy
from grader.manifests import load_manifests
from grader.paths import EXERCISES, ROOT
from grader.sandbox import launcher, warm
from grader.sandbox.launcher import EXTRA_PROCESSES, Forbidden, Limits, isolation

FULL, ISOLATION = isolation().full, isolation().text
needs_bwrap = pytest.mark.skipif(not FULL, reason=f"needs bubblewrap; isolation here is {ISOLATION}")
PR_SET_CHILD_SUBREAPER = 36


def _load_nnex_check():
    spec = importlib.util.spec_from_file_location("_nnex_check_for_sandbox_tests", EXERCISES / "nnex_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nnex_check = _load_nnex_check()


def _exercise(tmp_path: Path, forbidden=(), call_timeout_s=10.0, total_timeout_s=60.0, memory_mb=1024,
              cpu_s=20, support_files=()):
    """What the proxy and the launcher need of a manifest's exercise."""
    return types.SimpleNamespace(
        module="student_code", student_file="student_code.py", support_files=support_files,
        exercise_dir=tmp_path,
        forbidden=forbidden if isinstance(forbidden, Forbidden) else Forbidden(imports=tuple(forbidden)),
        limits=Limits(call_timeout_s=call_timeout_s, total_timeout_s=total_timeout_s,
                      memory_mb=memory_mb, cpu_s=cpu_s))


@pytest.fixture(scope="session", autouse=True)
def _zygotes():
    yield
    warm.close_all()


@pytest.fixture(params=["cold", "warm"])
def sandbox(tmp_path, request, monkeypatch):
    """make(source, **limits) -> a StudentProxy over that source; every child is closed afterwards.

    Each test runs with children started cold, and again forked from a warm zygote (warm.py)."""
    if request.param == "warm" and not warm.start_mode()[0]:
        pytest.skip(f"no warm start here: {warm.start_mode()[1]}")
    if request.param == "cold":
        monkeypatch.setenv("NNEX_COLD_START", "1")
    proxies = []

    def make(source: str, **options) -> StudentProxy:
        exercise = _exercise(tmp_path, **options)
        if request.param == "warm":
            warm.prepare([("numpy", exercise.forbidden)])
            assert warm.zygote_for("numpy", exercise.forbidden) is not None
        proxy = StudentProxy(exercise, textwrap.dedent(source))
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()


@pytest.fixture
def subreaper():
    """This process adopts orphans while the test runs, as the grader's judge processes do."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    yield
    launcher.kill_descendants()
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def _processes_with(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if text.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                pass
    return found


# ---------------------------------------------------------------- what the child can reach

@needs_bwrap
def test_child_has_no_network(sandbox):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass  # reachable from here
        proxy = sandbox("""
            import socket

            def connect(port):
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=2):
                        return "connected"
                except OSError as error:
                    return type(error).__name__

            def interfaces():
                return [name for _, name in socket.if_nameindex()]
        """)
        assert proxy.connect(port) != "connected"
        assert set(proxy.interfaces()) <= {"lo"}
    finally:
        server.close()


@needs_bwrap
def test_child_sees_neither_grader_nor_solutions(sandbox):
    secret = [ROOT / "grader", ROOT / "grader" / "hidden", ROOT / "solutions", ROOT / "reference",
              ROOT / "tests", ROOT / "solutions" / "01_neuron_gradient" / "neuron.py",
              Path(launcher.__file__)]
    assert all(p.exists() for p in secret[:5])
    proxy = sandbox("""
        import os

        def exists(paths):
            return [os.path.exists(p) for p in paths]

        def listing(path):
            return sorted(os.listdir(path)) if os.path.isdir(path) else None
    """)
    seen = proxy.exists([str(p) for p in secret])
    assert not any(seen), [str(p) for p, s in zip(secret, seen) if s]
    assert set(proxy.listing(str(ROOT)) or []) <= {".venv"}  # only the bound environment


# ---------------------------------------------------------------- limits and timeouts

def test_address_space_limit_stops_a_big_allocation(sandbox):
    proxy = sandbox("""
        import numpy as np

        def hog(gib):
            block = np.ones(int(gib * 2**30) // 8)
            return float(block.sum())

        def small():
            return float(np.ones(1000).sum())
    """, memory_mb=512)
    with pytest.raises(StudentError) as error:
        proxy.hog(2)
    assert "MemoryError" in str(error.value) or "killed" in str(error.value)
    assert proxy.small() == 1000.0


def test_wall_clock_timeout_then_a_fresh_child(sandbox):
    proxy = sandbox("""
        import time

        def sleepy():
            time.sleep(60)

        def quick():
            return 1
    """, call_timeout_s=1.5)
    assert proxy.quick() == 1
    started = time.monotonic()
    with pytest.raises(StudentError, match="did not return within"):
        proxy.sleepy()
    assert time.monotonic() - started < 6
    assert proxy.timed_out
    assert proxy.quick() == 1
    assert proxy.generation == 2


def test_cpu_time_limit_then_a_fresh_child(sandbox):
    proxy = sandbox("""
        import signal

        def spin():
            signal.signal(signal.SIGXCPU, signal.SIG_IGN)  # the hard limit then kills
            while True:
                pass

        def quick():
            return 2
    """, cpu_s=1, call_timeout_s=20)
    started = time.monotonic()
    with pytest.raises(StudentError) as error:
        proxy.spin()
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"the CPU limit of 1 s took {elapsed:.1f} s to stop the loop"
    # through bwrap the signal shows as bwrap's exit code 128 + 9 (or 128 + 24 for SIGXCPU)
    assert any(s in str(error.value) for s in ("SIGKILL", "SIGXCPU", "CPU", "code 137", "code 152"))
    assert proxy.quick() == 2
    assert proxy.generation == 2


def test_a_setsid_daemon_does_not_survive_close(sandbox, subreaper):
    marker = f"{3000 + random.random():.9f}"  # `sleep MARKER`: findable in /proc from here
    proxy = sandbox("""
        import os

        def leave_daemon(marker):
            pid = os.fork()
            if pid == 0:
                os.setsid()
                if os.fork() == 0:
                    os.execv("/bin/sleep", ["sleep", marker])
                os._exit(0)
            os.waitpid(pid, 0)
            return True
    """)
    assert proxy.leave_daemon(marker) is True
    deadline = time.monotonic() + 5
    while not _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(marker), "the daemon did not start"
    proxy.close()
    deadline = time.monotonic() + 3
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _processes_with(marker), "a daemon of the child outlived close()"


FORKS = """
    import os
    import time

    def forks(most):
        '''Fork up to ``most`` children that sleep: how many it could.'''
        count = 0
        while count < most:
            try:
                pid = os.fork()
            except OSError:
                return count
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            count += 1
        return count
"""


def test_fork_count_is_bounded(sandbox, subreaper):
    proxy = sandbox(FORKS)
    if os.geteuid() == 0 and not isolation().drop_privileges:
        pytest.skip("run as root without bubblewrap's unprivileged user, the process limit does not bind")
    count = proxy.forks(400)
    proxy.close()
    assert count <= EXTRA_PROCESSES, f"the child forked {count} processes; RLIMIT_NPROC should stop it"


@needs_bwrap
def test_each_child_has_a_small_tmp_of_its_own(sandbox):
    source = """
        import os

        def write(name):  # the files in /tmp (a virtual environment under /tmp shows there as a folder)
            with open(os.path.join("/tmp", name), "w") as handle:
                handle.write("mine")
            return sorted(n for n in os.listdir("/tmp") if os.path.isfile(os.path.join("/tmp", n)))

        def fill():
            try:
                with open("/tmp/big", "wb") as handle:
                    for _ in range(200):
                        handle.write(bytes(2**20))
            except OSError as error:
                return error.strerror
            return "filled"
    """
    first, second = sandbox(source), sandbox(source)
    assert first.write("first") == ["first"]
    assert second.write("second") == ["second"]  # not the first child's file
    assert first.fill() == "No space left on device"  # the limit of its own tmpfs, not the machine's disk
    assert second.write("again") == ["again", "second"]


@needs_bwrap
def test_concurrent_children_do_not_share_a_process_limit(sandbox, subreaper):
    if not isolation().drop_privileges:
        pytest.skip("children run as the invoking user: they share its process limit")
    greedy, neighbour = sandbox(FORKS), sandbox(FORKS)
    assert greedy.forks(400) <= EXTRA_PROCESSES  # it holds every process it may have
    assert neighbour.forks(5) == 5


SYSTEM_CALLS = """
    import ctypes
    import os
    import platform

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    CLONE_NEWNS, CLONE_NEWUSER, SIGCHLD = 0x00020000, 0x10000000, 17
    NUMBERS = {"x86_64": {"clone": 56, "add_key": 248, "request_key": 249},
               "aarch64": {"clone": 220, "add_key": 217, "request_key": 218}}[platform.machine()]

    def _errno(result):
        return 0 if result >= 0 else ctypes.get_errno()

    def namespaces():  # each gives the caller every capability inside a new user namespace
        pid = libc.syscall(ctypes.c_long(NUMBERS["clone"]), ctypes.c_long(CLONE_NEWUSER | SIGCHLD), None, None, None, None)
        if pid == 0:
            os._exit(0)
        if pid > 0:
            os.waitpid(pid, 0)
        return {"unshare user": _errno(libc.unshare(CLONE_NEWUSER)),
                "unshare user and mount": _errno(libc.unshare(CLONE_NEWUSER | CLONE_NEWNS)),
                "clone user": _errno(pid)}

    def memory_outside_the_limit():  # pages that RLIMIT_AS does not count
        try:
            os.memfd_create("held")
            memfd = 0
        except OSError as error:
            memfd = error.errno
        return {"memfd": memfd, "sysv shm": _errno(libc.shmget(0, 2**20, 0o600)),
                "sysv messages": _errno(libc.msgget(0, 0o600))}

    def leave_key(text):  # in the keyring of the child's uid, which outlives it
        return _errno(libc.syscall(ctypes.c_long(NUMBERS["add_key"]), b"user", b"nnex-left", text.encode(),
                                   ctypes.c_size_t(len(text)), ctypes.c_int(-4)))  # KEY_SPEC_USER_KEYRING

    def find_key():
        return _errno(libc.syscall(ctypes.c_long(NUMBERS["request_key"]), b"user", b"nnex-left", None, ctypes.c_int(0)))
"""
EPERM, ENOKEY = 1, 126


@needs_bwrap
def test_a_child_cannot_make_a_user_namespace(sandbox):
    assert sandbox(SYSTEM_CALLS).namespaces() == {"unshare user": EPERM, "unshare user and mount": EPERM,
                                                  "clone user": EPERM}


def test_a_child_cannot_hold_memory_outside_its_limit(sandbox):
    assert sandbox(SYSTEM_CALLS).memory_outside_the_limit() == {"memfd": EPERM, "sysv shm": EPERM,
                                                                "sysv messages": EPERM}


def test_a_child_leaves_nothing_in_the_kernels_keyrings_for_a_later_child(sandbox):
    first = sandbox(SYSTEM_CALLS)
    assert first.leave_key("answers of an earlier submission") == EPERM
    first.close()
    assert sandbox(SYSTEM_CALLS).find_key() in (EPERM, ENOKEY)  # it may have been given the same uid


def test_the_global_generators_start_alike_in_every_child(sandbox):
    source = """
        import random
        import numpy as np

        def draw():
            return [random.random(), float(np.random.rand())]
    """
    assert sandbox(source).draw() == sandbox(source).draw()


def test_a_sandbox_that_cannot_start_is_the_graders_error_not_the_students(sandbox, monkeypatch):
    proxy = sandbox("""
        def f():
            return 1
    """)

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("grader.judge.proxy.Child", no_space)
    with pytest.raises(StudentError, match="the sandbox could not start: OSError: .*No space left"):
        proxy.f()
    assert proxy.start_error and "No space left" in proxy.start_error


# ---------------------------------------------------------------- what crosses the boundary

def test_warnings_of_the_child_are_raised_again_here(sandbox):
    proxy = sandbox("""
        import warnings
        import numpy as np

        class HomeMadeWarning(UserWarning):
            pass

        def warn():
            warnings.warn("careful now", RuntimeWarning)
            np.exp(np.array([1000.0]))
            warnings.warn("my own kind", HomeMadeWarning)
            return 1
    """)
    with pytest.warns(Warning) as record:
        assert proxy.warn() == 1
    seen = [(w.category, str(w.message)) for w in record]
    assert (RuntimeWarning, "warn: careful now") in seen
    assert any(c is RuntimeWarning and "overflow" in m for c, m in seen)
    assert (UserWarning, "warn: my own kind") in seen  # a class the judge does not know


def test_the_student_works_on_copies_unless_a_test_asks_for_the_arguments(sandbox):
    proxy = sandbox("""
        def change(a, pair, table, untouched, rng):
            a *= 0
            pair[0][:] = 7
            table["x"][0] = -1
            rng.bit_generator.state = {"bit_generator": "PCG64", "state": {"state": 0, "inc": 1},
                                       "has_uint32": 0, "uinteger": 0}
            return "done"
    """)
    a, pair, table, untouched = np.arange(3.0), [np.zeros(2)], {"x": np.ones(2)}, np.full(2, 5.0)
    rng = np.random.default_rng(5)
    state = rng.bit_generator.state
    assert proxy.change(a, pair, table, untouched, rng) == "done"
    assert np.array_equal(a, [0.0, 1.0, 2.0]) and np.array_equal(pair[0], [0.0, 0.0])
    assert np.array_equal(table["x"], [1.0, 1.0]) and np.array_equal(untouched, [5.0, 5.0])
    assert rng.bit_generator.state == state  # the judge's generator takes no state from the child
    result, args, kwargs = nnex_check.call_with_arguments(proxy.change, a, pair, table, untouched, rng=rng)
    assert result == "done" and kwargs["rng"] is not rng and kwargs["rng"].bit_generator.state["state"]["state"] == 0
    assert np.array_equal(args[0], [0.0, 0.0, 0.0]) and np.array_equal(args[1][0], [7.0, 7.0])
    assert np.array_equal(args[2]["x"], [-1.0, 1.0]) and np.array_equal(args[3], [5.0, 5.0])
    assert np.array_equal(a, [0.0, 1.0, 2.0]) and rng.bit_generator.state == state


def test_a_generator_advances_only_through_the_arguments_a_test_asked_for(sandbox):
    proxy = sandbox("""
        import torch

        def draw(rng, generator):
            return rng.random(3), torch.rand(3, generator=generator, dtype=torch.float64)
    """, memory_mb=2048, call_timeout_s=60)
    import torch

    rng, generator = np.random.default_rng(5), torch.Generator().manual_seed(5)
    assert all(np.array_equal(a, b) for a, b in zip(proxy.draw(rng, generator), proxy.draw(rng, generator)))
    first, (rng_after, generator_after), _ = nnex_check.call_with_arguments(proxy.draw, rng, generator)
    second = proxy.draw(rng_after, generator_after)
    rng_here, generator_here = np.random.default_rng(5), torch.Generator().manual_seed(5)
    for sent in (first, second):  # the same stream as two calls in-process
        assert np.array_equal(sent[0], rng_here.random(3))
        assert torch.equal(sent[1], torch.rand(3, generator=generator_here, dtype=torch.float64))
    assert torch.equal(generator.get_state(), torch.Generator().manual_seed(5).get_state())


def test_a_fresh_process_keeps_nothing_of_earlier_calls(sandbox):
    proxy = sandbox("""
        kept = []

        def keep(value):
            kept.append(value)
            return len(kept)

        def thing():
            return object()
    """)
    assert proxy.keep(1) == 1 and proxy.keep(2) == 2
    fresh = nnex_check.in_a_fresh_process(proxy)
    assert fresh.keep(3) == 1 and proxy.keep(4) == 3
    with pytest.raises(StudentError, match="another child"):  # a handle of one child means nothing in another
        fresh.keep(proxy.thing())
    assert type(proxy.keep(proxy.thing())) is int


TOY_SUPPORT = """
import torch


class Affine(torch.nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.config = {"dim": dim}
        self.linear = torch.nn.Linear(dim, dim, dtype=torch.float64)

    def forward(self, x):
        return self.linear(x)
"""


def test_support_models_cross_as_config_and_weights(sandbox, tmp_path, monkeypatch):
    (tmp_path / "toy_support.py").write_text(TOY_SUPPORT)
    monkeypatch.syspath_prepend(str(tmp_path))  # the judge's own copy of the support module
    proxy = sandbox("""
        import torch
        from toy_support import Affine

        class Private(torch.nn.Module):
            pass

        def make(seed):
            torch.manual_seed(seed)
            return Affine(dim=3)

        def apply(model, x):
            return model(x)

        def private():
            return Private()
    """, memory_mb=2048, call_timeout_s=60, support_files=("toy_support.py",))
    import torch
    from toy_support import Affine

    made = proxy.make(0)
    torch.manual_seed(0)
    expected = Affine(dim=3)
    assert type(made) is Affine and made.config == {"dim": 3}
    assert all(torch.equal(a, b) for a, b in zip(made.state_dict().values(), expected.state_dict().values()))
    x = torch.randn(4, 3, dtype=torch.float64)
    with torch.no_grad():
        expected.linear.weight.mul_(-2.0)  # weights the child has never seen travel with the model
        assert torch.allclose(proxy.apply(expected, x), expected(x))
    assert type(proxy.private()) is Handle  # a class of the student's own stays behind


def test_subclasses_and_objects_come_back_as_handles_that_checks_refuse(sandbox):
    proxy = sandbox("""
        import numpy as np

        class AgreeableArray(np.ndarray):
            def __eq__(self, other):
                return np.ones(self.shape, dtype=bool)

        class Liar:
            def __eq__(self, other):
                return True

            def __float__(self):
                return 0.0

        def subclass():
            return np.zeros(3).view(AgreeableArray)

        def liar():
            return Liar()

        def objects():
            return np.array([1, "a"], dtype=object)

        def echo(value):
            return value
    """)
    for name, type_name in (("subclass", "AgreeableArray"), ("liar", "Liar"), ("objects", "ndarray")):
        value = getattr(proxy, name)()
        assert type(value) is Handle, name
        assert type_name in value.nnex_type
        with pytest.raises(AssertionError) as refused:
            nnex_check.expect_array(value, f"{name}()")
        assert type_name in str(refused.value)
        with pytest.raises(AssertionError, match=type_name):
            nnex_check.expect_scalar(value, f"{name}()")
    again = proxy.echo(proxy.subclass())  # a handle goes back to the child as its object
    assert type(again) is Handle and again.nnex_type.endswith("AgreeableArray")


def test_a_forbidden_import_is_an_import_error_naming_it(sandbox):
    proxy = sandbox("""
        import numpy as np
        import torch

        def f():
            return 1
    """, forbidden=("torch",))
    with pytest.raises(StudentError, match="torch"):
        proxy.f()
    assert proxy.import_error and "torch" in proxy.import_error
    hidden = sandbox("""
        import importlib

        def f():
            return importlib.import_module("tor" + "ch.nn") is not None
    """, forbidden=("torch",))
    with pytest.raises(StudentError, match="torch"):
        hidden.f()


# ---------------------------------------------------------------- torch under the limits

@pytest.mark.parametrize("memory_mb", [1024, 2048])
def test_torch_imports_and_runs_under_the_memory_limit(sandbox, memory_mb):
    proxy = sandbox("""
        import torch

        def use():
            x = torch.ones(64, 64, dtype=torch.float64)
            return float((x @ x.T).trace())
    """, memory_mb=memory_mb, call_timeout_s=60)
    assert proxy.use() == 64.0 * 64


def test_an_exercise_whose_sandbox_cannot_start_is_an_error_for_the_instructor(tmp_path):
    """The judge's result says so (status error, 0 points, "internal grader error"), never a silent 0."""
    script = textwrap.dedent("""
        import json, sys
        import grader.judge.proxy
        from grader.judge import worker
        from grader.manifests import load_manifests

        def no_space(*args, **kwargs):
            raise OSError(28, "No space left on device")

        grader.judge.proxy.Child = no_space
        exercise = load_manifests()["neuron_gradient"]
        print(json.dumps(worker.grade(exercise, exercise.solution_file.read_text(), [], None)))
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env=dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1"))
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["status"] == "error" and result["score"] == 0
    assert result["message"].startswith("internal grader error: the sandbox could not start: OSError")


def test_the_judges_inputs_are_not_the_self_checks(tmp_path):
    """The grader's `rng` draws from each test's name and a secret (the hidden tests' text), so no one
    can compute ahead the inputs it uses, as they can those of a self-check (the name alone)."""
    (tmp_path / "test_draw.py").write_text(
        "import json, os\n\n\ndef test_draw(rng):\n"
        "    with open(os.environ['DRAWN'], 'a') as out:\n"
        "        out.write(json.dumps(int(rng.integers(2**62))) + '\\n')\n")
    script = textwrap.dedent("""
        import sys
        import pytest
        from grader.judge.plugin import JudgePlugin

        pytest.main([sys.argv[1], "-q", "-p", "no:cacheprovider"], plugins=[JudgePlugin(None, None, sys.argv[2].encode())])
    """)
    drawn = tmp_path / "drawn"
    for secret in ("one hidden file", "one hidden file", "another"):
        subprocess.run([sys.executable, "-c", script, str(tmp_path / "test_draw.py"), secret], cwd=ROOT, timeout=120,
                       capture_output=True, env=dict(os.environ, DRAWN=str(drawn), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1"))
    first, again, other = map(int, drawn.read_text().split())
    self_check = int(np.random.default_rng(zlib.crc32(b"test_draw")).integers(2**62))
    assert first == again and len({first, other, self_check}) == 3


@needs_bwrap
def test_the_code_of_a_forbidden_function_is_not_on_the_childs_filesystem(sandbox):
    """Exercise 05's forbidden attention: read however the child likes, the files hold none of it."""
    forbidden = load_manifests()["attention"].forbidden
    proxy = sandbox("""
        import ctypes
        import os

        import torch.nn.functional as F

        def read(path):  # with libc: past the guard inside the interpreter, to see what the files hold
            libc = ctypes.CDLL(None)
            libc.open.argtypes = [ctypes.c_char_p, ctypes.c_int]
            fd, buffer = libc.open(path.encode(), os.O_RDONLY), ctypes.create_string_buffer(1 << 22)
            count = libc.read(fd, buffer, 1 << 22)
            libc.close(fd)
            return buffer.raw[:count].decode(errors="replace")

        def sources():
            folder = os.path.join(os.path.dirname(F.__file__), "__pycache__")
            compiled = [read(os.path.join(folder, n)) for n in os.listdir(folder) if n.startswith("functional.")]
            return read(F.__file__), compiled
    """, forbidden=forbidden, memory_mb=2048, call_timeout_s=60)
    source, compiled = proxy.sources()
    assert "def multi_head_attention_forward(" in source and "attn_output_weights" not in source
    assert "multi_head_attention_forward is not available in this exercise" in source
    assert compiled and all(text == "" for text in compiled)
