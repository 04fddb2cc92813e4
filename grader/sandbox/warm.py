"""Warm starts: a zygote per library set and forbidden set, which forks each child ready in milliseconds.

A cold child is a fresh interpreter in a fresh bubblewrap: it imports NumPy (and PyTorch) each
time, about 0.15 s (2 s). A zygote (zygote.py) is started once, in a sandbox made as a cold
child's is (the same filesystem, forbidden parts masked, no network) but holding the privileges to
make sandboxes of its own; it imports the libraries before any student code exists, and forks one
child per request. Each child gets, before it runs any student code, what a cold child gets from
bubblewrap: its own PID namespace (nothing it starts outlives it, it sees no other process), mount
namespace (its /proc, its own /tmp tmpfs, its /dev/shm, its read-only student folder), network,
IPC and UTS namespaces, its limits, its own unprivileged uid (UidLock), no capability in any set
and no way to gain one. The zygote never runs student code, and a child never learns of the zygote
or of another child: it has none of their file descriptors.

Warm starts need bubblewrap run as root (``isolation().drop_privileges``); without it, or with
NNEX_COLD_START=1 (``nnex grade --cold-start``), or with CUDA devices (a forked child's CUDA is
not tested here), every child starts cold: ``start_mode()`` says which, for the report.

``prepare([(library, forbidden), ...])`` starts the zygotes for those pairs in this process, side by
side (the judge server does it for the jobs it has read, before it forks their judges);
``zygote_for`` finds one, inherited by the judge.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile

import msgpack

from grader.sandbox import codec, launcher
from grader.sandbox.launcher import Forbidden, MIB, SANDBOX_RUNTIME

READY_TIMEOUT_S = 120  # a zygote imports PyTorch on a loaded machine


def start_mode() -> tuple[bool, str]:
    """(whether children start warm, the words for the report)."""
    if os.environ.get("NNEX_COLD_START") == "1":
        return False, "each child started cold (NNEX_COLD_START=1)"
    if not launcher.isolation().drop_privileges or not launcher.isolation().full:
        return False, "each child started cold (warm starts need bubblewrap run as root)"
    if launcher.GPU_DEVICES:
        return False, "each child started cold (CUDA devices: a forked child's CUDA is not relied on)"
    return True, "children forked from a warm sandbox per library set, each in namespaces of its own"


class Zygote:
    """A running zygote; ``spawn`` asks it for a child."""

    def __init__(self, library: str, forbidden: Forbidden):
        """Start it; ``wait_ready`` waits until it can fork children (zygotes start side by side)."""
        self.folder = tempfile.mkdtemp(prefix="nnex-zygote-")
        self.process, self.owner = None, os.getpid()
        try:
            self._start(library, forbidden)
        except BaseException:
            self.close()
            raise

    def _start(self, library: str, forbidden: Forbidden) -> None:
        runtime = os.path.join(self.folder, "runtime")
        os.mkdir(runtime)
        for name in ("zygote.py", "child.py", "codec.py", "library_guard.py", "syscall_filter.py",
                     launcher.REFUSED_PACKAGE):
            shutil.copy(SANDBOX_RUNTIME / name, os.path.join(runtime, name))
        masks = launcher._mask_files(forbidden, launcher.Path(runtime))
        self.control, inside = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        under_tmp = [str(p) for p in launcher._bound_prefixes() if launcher.Path("/tmp") in p.parents]
        config = {"preload": ["numpy", "torch"] if library == "torch" else ["numpy"],
                  "control_fd": inside.fileno(), "tmp_size": launcher.TMP_SIZE, "prefixes_under_tmp": under_tmp}
        command = [shutil.which("bwrap"), *launcher._bwrap_base_args(True, masks),
                   "--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_SETPCAP", "--dir", "/sandbox/student",
                   "--ro-bind", runtime, "/sandbox/runtime", "--chdir", "/tmp", "--",
                   sys.executable, "-s", "-B", "/sandbox/runtime/zygote.py", json.dumps(config)]
        environment = {"HOME": "/tmp", "TMPDIR": "/tmp", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
                       "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                       "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/.matplotlib"}
        parent = os.getpid()
        try:
            self.process = subprocess.Popen(command, env=environment, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                            start_new_session=True, pass_fds=(inside.fileno(),),
                                            preexec_fn=lambda: launcher.die_with_parent(parent))
        finally:
            inside.close()
        launcher.SPARED.add(self.process.pid)  # this process's sweeps of its descendants leave it be

    def wait_ready(self) -> None:
        try:
            if not select.select([self.control], [], [], READY_TIMEOUT_S)[0]:
                raise OSError("the warm sandbox did not start in time")
            answer = self.control.recv(64)
            if answer != b"ready":
                raise OSError(f"the warm sandbox could not start: {answer.decode(errors='replace') or 'it exited'}")
        except BaseException:
            self.close()
            raise

    def spawn(self, files: dict[str, str], runtime_config: dict, limits: launcher.Limits, uid: int,
              processes: int) -> tuple["WarmProcess", int, int]:
        """A new child: (its process, the request pipe's write end, the response pipe's read end)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        request_read, request_write = os.pipe()
        response_read, response_write = os.pipe()
        try:
            socket.send_fds(self.control, [b"child"], [theirs.fileno(), request_read, response_write])
        except OSError:
            for fd in (request_write, response_read):
                os.close(fd)
            ours.close()
            raise
        finally:
            theirs.close()
            os.close(request_read)
            os.close(response_write)
        config = {"files": files, "runtime": runtime_config, "uid": uid, "gpu": bool(launcher.GPU_DEVICES),
                  "memory_bytes": limits.memory_mb * MIB, "cpu_s": limits.cpu_s,
                  "file_size": launcher.FILE_SIZE_LIMIT, "open_files": launcher.OPEN_FILES_LIMIT,
                  "processes": processes}
        process = WarmProcess(ours)
        try:
            codec.write_frame(request_write, msgpack.packb(config, use_bin_type=True))
        except OSError:
            process.kill()
            process.wait(5)
            process.close()
            os.close(request_write)
            os.close(response_read)
            raise
        return process, request_write, response_read

    def alive(self) -> bool:
        """Whether it runs; a judge (forked from the process that started it) cannot tell, and trusts it."""
        return self.process is not None and (os.getpid() != self.owner or self.process.poll() is None)

    def close(self) -> None:
        if self.process is not None:
            self.control.close()  # the zygote exits; its children are killed with it
            self.process.kill()
            self.process.wait()
            launcher.SPARED.discard(self.process.pid)
            self.process = None
        shutil.rmtree(self.folder, ignore_errors=True)


class WarmProcess:
    """A forked child, as the launcher sees it: through its socket to the zygote."""

    def __init__(self, conn: socket.socket):
        self.conn, self.returncode = conn, None

    def poll(self):
        if self.returncode is None and select.select([self.conn], [], [], 0)[0]:
            self._read_status()
        return self.returncode

    def wait(self, timeout=None):
        if self.returncode is None:
            if not select.select([self.conn], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired("warm child", timeout)
            self._read_status()
        return self.returncode

    def _read_status(self) -> None:
        try:
            data = self.conn.recv(4)
        except OSError:
            data = b""
        # without a status the zygote itself is gone, and the child with it
        self.returncode = struct.unpack(">i", data)[0] if len(data) == 4 else -9

    def kill(self) -> None:
        """Kill the child and everything it started (the zygote answers once they are gone)."""
        if self.returncode is None:
            try:
                self.conn.send(b"k")
            except OSError:
                pass

    def close(self) -> None:
        self.conn.close()


_ZYGOTES: dict[tuple[str, Forbidden], Zygote] = {}


def prepare(pairs: list[tuple[str, Forbidden]]) -> None:
    """Start the zygotes for these (library, forbidden) pairs in this process, side by side, where
    children start warm and they are not running; where one cannot start, its children start cold
    (the judge's child says why, if that fails too)."""
    if not start_mode()[0]:
        return
    starting = {}
    for key in dict.fromkeys(pairs):
        zygote = _ZYGOTES.pop(key, None)
        if zygote is not None and zygote.alive():
            _ZYGOTES[key] = zygote
            continue
        if zygote is not None:
            zygote.close()
        try:
            starting[key] = Zygote(*key)
        except OSError:
            pass
    for key, zygote in starting.items():
        try:
            zygote.wait_ready()
            _ZYGOTES[key] = zygote
        except OSError:
            pass


def zygote_for(library: str, forbidden: Forbidden) -> Zygote | None:
    if not start_mode()[0]:
        return None
    zygote = _ZYGOTES.get((library, forbidden))
    return zygote if zygote is not None and zygote.alive() else None


def close_all() -> None:
    for zygote in _ZYGOTES.values():
        zygote.close()
    _ZYGOTES.clear()
