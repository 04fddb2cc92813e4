"""The zygote: a sandbox that has imported the libraries once and forks one child per request.

    python -s -B zygote.py CONFIG_JSON

CONFIG_JSON: {"preload": ["numpy"] or ["numpy", "torch"], "control_fd", "tmp_size", "prefixes_under_tmp"}.
It runs inside bubblewrap as root with CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID and CAP_SETPCAP, and
never runs student code: that is done by the children it forks, each of which first makes itself a
sandbox of its own, as a cold child gets from bubblewrap (see become_child), then drops every
privilege and serves as child.py does.

On ``control_fd`` (a SOCK_SEQPACKET socket) it says b"ready" once, then receives requests: a message
with three file descriptors (a stream socket for this child, the request pipe's read end, the
response pipe's write end). The child reads its configuration from the request pipe. On the
child's socket the zygote writes the child's exit code (4 bytes, signed, -N for signal N) once
the child has ended and everything it started with it; anything the judge writes there, or the
judge closing it, kills the child first. When ``control_fd`` closes, the zygote exits.

This file is copied into the sandbox with child.py, codec.py, library_guard.py and syscall_filter.py; it imports
nothing from the grader.
"""
import ctypes
import gc
import json
import os
import random
import resource
import select
import signal
import socket
import struct
import sys

CONFIG = json.loads(sys.argv[1])
os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")  # one thread at fork time

RUNTIME = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, RUNTIME)
import child  # noqa: E402  (child.py takes the runtime folder off the path again)
import codec  # noqa: E402
import msgpack  # noqa: E402
import numpy as np  # noqa: E402

torch = None
if "torch" in CONFIG["preload"]:
    import torch

    torch.set_num_threads(1)  # before any operation: a pool's threads would not survive the fork
    torch.set_num_interop_threads(1)
TORCH_SEED = torch.initial_seed() if torch else None  # the seed a fresh interpreter's generator has

libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = \
    0x00020000, 0x04000000, 0x08000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = \
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 4, 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CAPABILITY_VERSION_3 = 0x20080522
STUDENT_DIR = "/sandbox/student"


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(source, target, kind, flags, data=None) -> None:
    _check(libc.mount(source and source.encode(), target.encode(), kind and kind.encode(),
                      ctypes.c_ulong(flags), data and data.encode()), f"mount {target}")


def _warm_up() -> None:
    """What every child would otherwise do first: the libraries' lazy setup, the codec's paths."""
    x = np.ones((8, 8))
    np.random.seed(0)  # NumPy loads numpy.random (and linalg, fft) on first use
    np.linalg.norm(x), np.fft.fft(x[0]), np.random.default_rng(0).normal(size=3)
    codec.decode(codec.encode([x @ x, (1, 2.0), {1: "a"}], lambda obj: None), {})
    if torch:
        t = torch.ones(8, 8, requires_grad=True)
        (t @ t).sum().backward()
        torch.optim.Adam([t], lr=0.1).step()
        torch.nn.functional.softmax(torch.nn.Linear(8, 8)(t), dim=-1)
        codec.decode(codec.encode([torch.zeros(2), torch.Generator()], lambda obj: None), {})
        torch.manual_seed(TORCH_SEED)


# ------------------------------------------------------------------ in the child, before student code

def _own_filesystem(config: dict) -> None:
    """A mount namespace of its own: its /proc, its /tmp, its /dev/shm, its read-only student folder."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    kept = [(prefix, os.open(prefix, os.O_PATH | os.O_DIRECTORY)) for prefix in CONFIG["prefixes_under_tmp"]]
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={CONFIG['tmp_size']},mode=1777")
    for prefix, fd in kept:  # the fresh /tmp hides an environment that lives under /tmp: bound again
        os.makedirs(prefix, mode=0o755, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", prefix, None, MS_BIND | MS_REC)
        _mount(None, prefix, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(fd)
    _check(libc.umount2(b"/proc", MNT_DETACH), "umount /proc")  # the zygote's: this child's is made next
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    if os.path.isdir("/dev/shm"):
        _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"size={CONFIG['tmp_size']},mode=1777")
    _mount("tmpfs", STUDENT_DIR, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    for name, text in config["files"].items():
        with open(os.path.join(STUDENT_DIR, name), "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(os.path.join(STUDENT_DIR, name), 0o644)
    _mount(None, STUDENT_DIR, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _limit(config: dict) -> None:
    memory = resource.RLIMIT_DATA if config["gpu"] else resource.RLIMIT_AS
    resource.setrlimit(memory, (config["memory_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_CPU, (config["cpu_s"], config["cpu_s"] + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (config["file_size"],) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (config["open_files"],) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (config["processes"],) * 2)


def _drop_privileges(uid: int) -> None:
    """Become ``uid`` with no capability left in any set, and no way to gain one."""
    cap = 0
    while libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0:  # needs CAP_SETPCAP: before the uid changes
        cap += 1
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    header = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable, twice: all empty
    _check(libc.capset(header, data), "capset")  # the inheritable set survives setuid
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _check(libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "dumpable")


def become_child(request_fd: int, response_fd: int) -> None:
    """In the forked child, pid 1 of its own PID namespace: its sandbox, then child.py's loop."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    low, high = sorted((request_fd, response_fd))
    os.closerange(3, low)  # the zygote's sockets, the other children's
    os.closerange(low + 1, high)
    os.closerange(high + 1, 1 << 16)
    config = msgpack.unpackb(codec.read_frame(request_fd), raw=False)  # from the judge, not the student
    _check(libc.unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS), "unshare")
    _own_filesystem(config)
    _limit(config)
    _drop_privileges(config["uid"])
    os.chdir("/tmp")
    if torch:
        torch.manual_seed(TORCH_SEED)  # random and NumPy's are seeded by child.py
    runtime = dict(config["runtime"], request_fd=request_fd, response_fd=response_fd, uid=None)
    sys.argv[:] = [os.path.join(RUNTIME, "child.py"), json.dumps(runtime)]  # what a cold child's are
    child.Runtime(runtime).serve()


# ------------------------------------------------------------------ the zygote's loop

def serve() -> None:
    control = socket.socket(fileno=CONFIG["control_fd"])
    own_pid_namespace = os.open("/proc/self/ns/pid", os.O_RDONLY)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_write)
    children: dict[socket.socket, int] = {}

    def report(conn: socket.socket, status: int) -> None:
        try:
            conn.send(struct.pack(">i", os.waitstatus_to_exitcode(status)))
        except OSError:
            pass
        conn.close()
        del children[conn]

    threads = len(os.listdir("/proc/self/task"))
    control.send(b"ready" if threads == 1 else f"{threads} threads".encode())
    while True:
        readable = select.select([control, wake_read, *children], [], [])[0]
        if control in readable:
            message, fds, _, _ = socket.recv_fds(control, 16, 3)
            if not message:
                return  # the judge server is gone
            if len(fds) == 3:
                conn_fd, request_fd, response_fd = fds
                _check(libc.unshare(CLONE_NEWPID), "unshare")  # the next child is pid 1 of a new namespace
                pid = os.fork()
                if pid == 0:
                    code = 0
                    try:
                        become_child(request_fd, response_fd)
                    except BaseException:
                        code = 125
                    os._exit(code)
                _check(libc.setns(own_pid_namespace, CLONE_NEWPID), "setns")  # else the next unshare fails
                children[socket.socket(fileno=conn_fd)] = pid
            for fd in fds[1:]:
                os.close(fd)
        if wake_read in readable:
            while True:
                try:
                    if not os.read(wake_read, 512):
                        break
                except BlockingIOError:
                    break
        for conn in [c for c in readable if c in children]:  # the judge asks, or is gone: kill the child
            pid = children[conn]
            os.kill(pid, signal.SIGKILL)
            report(conn, os.waitpid(pid, 0)[1])  # its namespace is empty once it is reaped
        for conn, pid in list(children.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                report(conn, status)


if __name__ == "__main__":
    random.seed(0)
    _warm_up()
    gc.freeze()  # a child's collections then leave the zygote's objects, and their shared pages, alone
    serve()
