"""Starts, talks to and kills the sandboxed child: the parent's side of the trust boundary.

The child runs ``child.py`` with a fresh session, a cleared environment, its own temporary folder
as working directory, HOME and /tmp, and resource limits; it dies with the process that started it.
With bubblewrap it also gets no network, its own PID namespace (so nothing it starts outlives it), a
/tmp of its own (a small tmpfs that no other child sees) and a filesystem that holds only the
interpreter, its packages, the runtime and the student's file: the grader, the reference, the
solutions and the project's tests are not there, nor what the exercise forbids of a library
(forbidden_files.py). Without bubblewrap the limits still hold and the judge process collects every
descendant (as a child subreaper) to kill it, but the child sees the filesystem: ``isolation()``
says so. Run as root, each child becomes an unprivileged user of its own (a uid no other live child
has), since root is exempt from the limit on processes and the limit counts all of a user's
processes; without bubblewrap only where that user can run the interpreter.
"""
from __future__ import annotations

import ctypes
import fcntl
import glob
import json
import os
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from grader.paths import ROOT
from grader.sandbox import codec, forbidden_files

SANDBOX_RUNTIME = Path(__file__).parent  # the child's runtime files are copied from here
MIB = 2**20
FILE_SIZE_LIMIT = 64 * MIB
TMP_SIZE = 64 * MIB  # the child's own /tmp
OPEN_FILES_LIMIT = 256
EXTRA_PROCESSES = 64  # threads count as processes: torch's thread pool needs a few
HIDDEN_FROM_CHILD = ("grader", "reference", "solutions", "tests")
GPU_DEVICES = sorted(glob.glob("/dev/nvidia*"))  # CUDA for the PyTorch exercises, where there is a GPU
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 1, 4, 36
PROBE_UID = 65534  # nobody: whether an unprivileged user can run the child at all (its packages readable)
# the child's user can run the interpreter and read the standard library and every file of the
# packages it imports (NumPy's bundled libraries too): checked, not imported, a tenth of a second less
# for every command that grades
PROBE_DROP = f"""
import importlib.util, os, sys
os.setgroups([]); os.setgid({PROBE_UID}); os.setuid({PROBE_UID})
packages = [os.path.dirname(importlib.util.find_spec(name).origin) for name in ("numpy", "msgpack")]
folders = packages + [p + ".libs" for p in packages if os.path.isdir(p + ".libs")]
files = [os.path.join(top, name) for folder in folders
         for top, _, names in os.walk(folder, onerror=lambda error: sys.exit(1)) for name in names]
assert os.access(sys.executable, os.X_OK) and all(os.access(f, os.R_OK) for f in [os.__file__, *files])
"""
CHILD_UIDS = range(200_000, 201_000)  # one per live child, machine-wide, when run as root
UID_LOCKS = Path("/tmp/nnex-uid-locks")  # a lock file per uid in use: released when its holder dies
REFUSED_PACKAGE = "refused_package.py"  # what a forbidden package's folder holds in the sandbox


@dataclass(frozen=True)
class Limits:
    call_timeout_s: float
    total_timeout_s: float
    memory_mb: int
    cpu_s: int


class ChildTimeout(Exception):
    """The child did not answer within the time it had."""


class ChildDied(Exception):
    """The child exited or was killed before it answered."""


_prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up once: also called between fork and exec


def harden_judge_process() -> None:
    """Make this process the reaper of every orphan below it and unreadable to other processes."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    _prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when the thread that started it ends (a killed grader takes all below it)."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _process_table() -> dict[int, int]:
    """pid -> parent pid for every visible process."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            table[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return table


SPARED: set[int] = set()  # this process's warm zygotes (warm.py): they kill their own children


def kill_descendants(spare: set[int] = frozenset()) -> int:
    """SIGKILL every process below this one (daemons included, as this is a subreaper) but the
    zygotes in SPARED, the processes in ``spare`` and what is below them; reap them."""
    killed = 0
    for _ in range(50):
        table = _process_table()
        below, frontier = set(), {os.getpid()}
        while frontier:
            frontier = {pid for pid, parent in table.items() if parent in frontier} - below - SPARED - spare
            below |= frontier
        if not below:
            break
        for pid in below:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        time.sleep(0.01)
        for pid in below:  # only those killed: a spared child that ended is its owner's to reap (and its pid stays its)
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # not a child of this process (yet): it comes here once its parent is gone
                pass
    return killed


@dataclass(frozen=True)
class Isolation:
    full: bool  # bubblewrap: no network, own PID namespace, grader files and forbidden packages not visible
    drop_privileges: bool  # each child becomes an unprivileged user of its own (root ignores RLIMIT_NPROC)
    text: str  # a sentence for the report


@lru_cache(maxsize=1)
def isolation() -> Isolation:
    """What this machine allows. NNEX_ISOLATION=reduced turns bubblewrap off (to test the fallback)."""
    if os.environ.get("NNEX_ISOLATION") == "reduced":
        return _reduced("turned off by NNEX_ISOLATION=reduced")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return _reduced("bubblewrap (bwrap) is not installed")
    full = "full: bubblewrap, no network, own PID namespace and /tmp, grader files and forbidden packages not visible"
    if os.geteuid() == 0 and _probe(bwrap, True, PROBE_DROP).returncode == 0:
        return Isolation(True, True, f"{full}, an unprivileged user per child")
    probe = _probe(bwrap, False, "pass")
    if probe.returncode != 0:
        return _reduced(f"bubblewrap cannot create namespaces here ({probe.stderr.strip()[:200]})")
    limit = "; as root, the number of processes is not limited" if os.geteuid() == 0 else ""
    return Isolation(True, False, f"{full}{limit}")


def _reduced(why: str) -> Isolation:
    """Without bubblewrap: as root, each child still becomes an unprivileged user of its own where
    that user can run the interpreter; the report says what is lost either way."""
    lost = ("so the child has the network, sees the filesystem, shares /tmp and can reach forbidden packages "
            "past the guard inside its interpreter")
    if os.geteuid() == 0:
        probe = subprocess.run([sys.executable, "-I", "-c", PROBE_DROP], capture_output=True, timeout=60, cwd="/")
        if probe.returncode == 0:
            return Isolation(False, True, f"reduced: {why}, {lost}; each child is an unprivileged user of its own")
        return Isolation(False, False, f"reduced: {why}, {lost}; and the child runs as root: it could change "
                                       "the grader's files and stop it")
    return Isolation(False, False, f"reduced: {why}, {lost}; and the child runs as the grader's own user: it "
                                   "could stop the grader")


def _probe(bwrap: str, drop_root: bool, code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a sandbox made as the children's are."""
    return subprocess.run([bwrap, *_bwrap_base_args(drop_root), "--chdir", "/tmp",
                           "--", sys.executable, "-I", "-c", code],
                          capture_output=True, text=True, timeout=60)


def _bound_prefixes() -> list[Path]:
    """The interpreter's installation and the environment whose packages the child imports."""
    prefixes = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    return sorted(p for p in prefixes if not any(o != p and o in p.parents for o in prefixes))


def _bwrap_base_args(drop_root: bool, masks: list[tuple[Path, Path]] = ()) -> list[str]:
    """The sandbox's filesystem and namespaces, with a small tmpfs of its own as /tmp.

    /tmp comes before the environment's binds: a virtual environment may itself live under /tmp.
    ``masks``: (replacement file, path) pairs: the file shows at the path (a folder becomes an empty
    one whose __init__.py is the file). See forbidden_files.py.
    """
    if drop_root:  # no user namespace, so that the child can still become an unprivileged user
        args = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args = ["--unshare-all"]
    args += ["--die-with-parent", "--new-session", "--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(TMP_SIZE), "--tmpfs", "/tmp"]
    for device in GPU_DEVICES:
        args += ["--dev-bind", device, device]
    if GPU_DEVICES:
        args += ["--ro-bind-try", "/sys", "/sys"]  # the CUDA driver reads the PCI topology there
    for name in ("bin", "lib", "lib32", "lib64", "sbin"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    prefixes = _bound_prefixes()
    usr = Path("/usr")  # already bound whole
    # folders bubblewrap makes on its own are private to root: an unprivileged child could not pass
    made = sorted({a for p in prefixes for a in p.parents if a != Path("/")} | {Path("/sandbox")})
    for folder in made:
        if usr != folder and usr not in folder.parents:
            args += ["--perms", "0755", "--dir", str(folder)]
    for prefix in prefixes:
        if usr != prefix and usr not in prefix.parents:
            args += ["--ro-bind", str(prefix), str(prefix)]
    bound = prefixes + [usr]
    for name in HIDDEN_FROM_CHILD:  # e.g. after a non-editable install into the bound environment
        path = (ROOT / name).resolve()
        if path.exists() and any(b == path or b in path.parents for b in bound):
            args += ["--tmpfs", str(path)]
    for replacement, path in masks:
        if path.is_dir():
            args += ["--tmpfs", str(path), "--ro-bind", str(replacement), str(path / "__init__.py")]
        else:
            args += ["--ro-bind", str(replacement), str(path)]
    return args


class UidLock:
    """A uid that no other live child uses, held (by a lock file) until ``release`` or this process dies."""

    def __init__(self):
        UID_LOCKS.mkdir(mode=0o700, exist_ok=True)
        for uid in CHILD_UIDS:
            fd = os.open(UID_LOCKS / str(uid), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.uid, self.fd = uid, fd
            return
        raise OSError(f"all {len(CHILD_UIDS)} sandbox uids are in use")

    def release(self) -> None:
        os.close(self.fd)


def _limit_resources(limits: Limits, uid: int, become: bool):
    """What the new process does before exec: limits, and with ``become``, the user ``uid``."""
    processes = sum(1 for entry in os.listdir("/proc")
                    if entry.isdigit() and _owner(entry) == uid)

    # CUDA reserves far more address space than it uses, so with a GPU the limit is on data instead
    memory_limit = resource.RLIMIT_DATA if GPU_DEVICES else resource.RLIMIT_AS

    parent = os.getpid()

    def apply():  # runs in the new process, before exec
        die_with_parent(parent)
        resource.setrlimit(memory_limit, (limits.memory_mb * MIB,) * 2)
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT,) * 2)
        resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES_LIMIT,) * 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NPROC, (processes + EXTRA_PROCESSES,) * 2)
        if become:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)

    return apply


def _owner(pid: str):
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


@dataclass(frozen=True)
class Forbidden:
    """What an exercise keeps from the student's code (see the manifest schema)."""
    imports: tuple[str, ...] = ()  # packages: absent from the child's filesystem (and refused by its importer)
    functions: tuple[str, ...] = ()  # library functions and classes that raise in the child
    operators: tuple[str, ...] = ()  # parts of ATen operator names whose kernels raise in the child
    modules: tuple[str, ...] = ()  # modules the child cannot import


def _mask_files(forbidden: Forbidden, runtime: Path) -> list[tuple[Path, Path]]:
    """(replacement file, path) for each mask of the forbidden parts; patched sources are written to ``runtime``."""
    found = forbidden_files.masks(forbidden.imports, forbidden.modules, forbidden.functions,
                                  tuple(_bound_prefixes() + [Path("/usr")]))
    (runtime / "empty").touch()
    pairs = []
    for number, mask in enumerate(found):
        if mask.replacement == forbidden_files.REFUSED:
            pairs.append((runtime / REFUSED_PACKAGE, mask.path))
        elif mask.replacement == forbidden_files.EMPTY:
            pairs.append((runtime / "empty", mask.path))
        else:
            patched = runtime / f"patched_{number}.py"
            patched.write_text(mask.replacement, encoding="utf-8")
            pairs.append((patched, mask.path))
    return pairs


def _child_config(student_dir: str, module: str, support_files: list[Path], forbidden: Forbidden) -> dict:
    """What child.py needs to know of the student's files and the forbidden library, cold or warm."""
    return {"student_dir": student_dir, "module": module, "support_modules": [p.stem for p in support_files],
            "forbidden_imports": list(forbidden.imports),
            "guard": {"functions": list(forbidden.functions), "operators": list(forbidden.operators),
                      "modules": list(forbidden.modules)}}


class _SessionProcess(subprocess.Popen):
    """A cold child: killing it kills its whole process group."""

    def kill(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def close(self) -> None:
        """Nothing to release: its pipes are the Child's (a warm child's process has a socket)."""


class Child:
    """One sandboxed child process that has imported one student file: forked from ``zygote``
    (warm.py) when one is given, else started cold.

    Creating one raises ``OSError`` (or ChildDied) when the sandbox cannot be set up; nothing is
    left behind then.
    """

    def __init__(self, student_source: str, module: str, support_files: list[Path], forbidden: Forbidden,
                 limits: Limits, zygote=None):
        self.limits, self.process, self.uid_lock = limits, None, None
        self.request_fd = self.response_fd = None
        self.through_bwrap = False  # bubblewrap exits with 128 + the signal that killed the child
        self.folder = Path(tempfile.mkdtemp(prefix="nnex-child-"))
        try:
            if zygote is not None:
                self._fork(zygote, student_source, module, support_files, forbidden)
            else:
                self._start(student_source, module, support_files, forbidden)
        except BaseException:
            self.close()
            raise

    def _fork(self, zygote, student_source: str, module: str, support_files: list[Path], forbidden: Forbidden) -> None:
        self.uid_lock = UidLock()
        uid = self.uid_lock.uid
        processes = sum(1 for entry in os.listdir("/proc") if entry.isdigit() and _owner(entry) == uid)
        files = {f"{module}.py": student_source}
        files.update((support.name, support.read_text(encoding="utf-8")) for support in support_files)
        config = _child_config("/sandbox/student", module, support_files, forbidden)
        self.process, self.request_fd, self.response_fd = zygote.spawn(
            files, config, self.limits, uid, processes + EXTRA_PROCESSES)

    def _start(self, student_source: str, module: str, support_files: list[Path], forbidden: Forbidden) -> None:
        runtime, student, scratch = (self.folder / n for n in ("runtime", "student", "tmp"))
        for path in (runtime, student, scratch):
            path.mkdir()
        for name in ("child.py", "codec.py", "library_guard.py", "syscall_filter.py", REFUSED_PACKAGE):
            shutil.copy(SANDBOX_RUNTIME / name, runtime / name)
        (student / f"{module}.py").write_text(student_source, encoding="utf-8")
        for support in support_files:  # the exercise's own copies, never the submission's
            shutil.copy(support, student / support.name)

        sandbox = isolation()
        if sandbox.drop_privileges:
            self.uid_lock = UidLock()
        uid = self.uid_lock.uid if self.uid_lock else os.getuid()
        if self.uid_lock and not sandbox.full:  # the user it becomes can reach its folders and write its tmp
            self.folder.chmod(0o711)
            os.chown(scratch, uid, uid)
        request_read, self.request_fd = os.pipe()
        self.response_fd, response_write = os.pipe()
        inside = Path("/sandbox") if sandbox.full else self.folder
        config = {**_child_config(str(inside / "student"), module, support_files, forbidden),
                  "uid": self.uid_lock.uid if self.uid_lock and sandbox.full else None,
                  "request_fd": request_read, "response_fd": response_write}
        home = "/tmp" if sandbox.full else str(scratch)
        # -s: no user site (that is -I but for -E: the environment is ours, and it fixes the hash seed)
        command = [sys.executable, "-s", "-B", str(inside / "runtime" / "child.py"), json.dumps(config)]
        if sandbox.full:
            command = [shutil.which("bwrap"), *_bwrap_base_args(sandbox.drop_privileges, _mask_files(forbidden, runtime)),
                       "--ro-bind", str(runtime), "/sandbox/runtime",
                       "--ro-bind", str(student), "/sandbox/student", "--chdir", "/tmp", "--", *command]
        environment = {"HOME": home, "TMPDIR": home, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
                       "PYTHONHASHSEED": "0",  # the same code gives the same messages, run after run
                       "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                       "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{home}/.matplotlib"}
        self.through_bwrap = sandbox.full
        try:
            self.process = _SessionProcess(
                command, cwd=scratch, env=environment, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                pass_fds=(request_read, response_write),
                preexec_fn=_limit_resources(self.limits, uid, become=bool(self.uid_lock) and not sandbox.full))
        finally:
            os.close(request_read)
            os.close(response_write)

    def receive(self, timeout: float):
        """The next response, decoded by the caller's codec hooks; raises ChildTimeout or ChildDied."""
        deadline = time.monotonic() + timeout
        header = self._read(4, deadline)
        (size,) = struct.unpack(">I", header)
        if size > codec.MAX_FRAME_BYTES:
            self.kill()
            raise ChildDied(f"the child sent a frame of {size} bytes, over the limit")
        return self._read(size, deadline)

    def send(self, data: bytes) -> None:
        try:
            codec.write_frame(self.request_fd, data)
        except (BrokenPipeError, OSError):
            raise ChildDied(self._death()) from None

    def _read(self, size: int, deadline: float) -> bytes:
        chunks, remaining = [], size
        while remaining:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.response_fd], [], [], left)[0]:
                self.kill()
                raise ChildTimeout()
            chunk = os.read(self.response_fd, min(remaining, MIB))
            if not chunk:
                raise ChildDied(self._death())
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _death(self) -> str:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            return "the child stopped answering"
        if self.through_bwrap and code > 128:
            code = 128 - code
        if code < 0 and -code in signal.valid_signals():
            name = signal.Signals(-code).name
            cause = {"SIGKILL": " (memory or process limit?)", "SIGXCPU": " (CPU time limit)",
                     "SIGXFSZ": " (file size limit)", "SIGSEGV": " (crash)"}.get(name, "")
            return f"the child was killed by {name}{cause}"
        return f"the child exited with code {code}"

    def kill(self) -> None:
        """Kill the child's whole process group, then every process left below the judge."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        kill_descendants()

    def close(self) -> None:
        self.kill()
        for fd in (self.request_fd, self.response_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.request_fd = self.response_fd = None
        if self.process is not None:
            self.process.close()
        if self.uid_lock is not None:  # only now that nothing of the child runs any more
            self.uid_lock.release()
            self.uid_lock = None
        shutil.rmtree(self.folder, ignore_errors=True)
