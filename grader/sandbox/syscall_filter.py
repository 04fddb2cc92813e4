"""Refuses the child the system calls whose effects escape its sandbox's limits.

    install()

runs in the child before any student code (cold or warm) and holds for it and everything it
starts. Namespaces, uids and rlimits leave these open, and each was shown to work from a child:

- a user namespace (unshare, setns, clone or clone3 with a namespace flag): the child would hold
  every capability inside it, which no grading needs and many kernel flaws start from;
- the kernel's keyrings (add_key, request_key, keyctl): a uid's keyring outlives the child, so a
  later child given the same uid (another submission's, in this run or the next) could read it;
- memory outside the limit on address space (memfd_create, shmget, msgget): a memfd's or a SysV
  segment's pages count against no rlimit, so a child could hold gigabytes beside its neighbours.
  (Its /tmp and /dev/shm are tmpfs of a fixed size, and pipes are limited per user by the kernel.)

Each is refused with EPERM (clone3 with ENOSYS, on which the C library falls back to clone, whose
flags a filter can see). Other architectures' and ABIs' system calls end the process. This file is
copied into the sandbox and imports nothing from the grader.
"""
import ctypes
import errno
import platform
import struct

# audit architecture, then the numbers of: unshare, setns, clone, clone3, add_key, request_key,
# keyctl, memfd_create, shmget, msgget, seccomp
_ARCHITECTURES = {
    "x86_64": (0xC000003E, dict(unshare=272, setns=308, clone=56, clone3=435, add_key=248, request_key=249,
                                keyctl=250, memfd_create=319, shmget=29, msgget=68, seccomp=317)),
    "aarch64": (0xC00000B7, dict(unshare=97, setns=268, clone=220, clone3=435, add_key=217, request_key=218,
                                 keyctl=219, memfd_create=279, shmget=194, msgget=186, seccomp=277)),
}
REFUSED = ("unshare", "setns", "add_key", "request_key", "keyctl", "memfd_create", "shmget", "msgget")
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET (clone takes no CLONE_NEWTIME)
NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
X32_SYSCALL_BIT = 0x40000000  # x86_64's x32 ABI: the same calls under other numbers

_LOAD, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, ..., BPF_RET|K
_NR, _ARCH, _ARG0 = 0, 4, 16  # offsets in struct seccomp_data (the first argument's low 32 bits)
_ALLOW, _KILL_PROCESS = 0x7FFF0000, 0x80000000
PR_SET_NO_NEW_PRIVS, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC = 38, 1, 1


def _refuse(error: int) -> int:
    return 0x00050000 | error  # SECCOMP_RET_ERRNO


def program(machine: str) -> list[tuple[int, int, int, int]]:
    """The filter for ``machine`` (platform.machine()), as (code, jump if true, jump if false, k)."""
    if machine not in _ARCHITECTURES:
        raise OSError(f"the sandbox has no system-call filter for this machine's architecture ({machine})")
    arch, numbers = _ARCHITECTURES[machine]
    steps = [(_LOAD, 0, 0, _ARCH), (_JEQ, 1, 0, arch), (_RET, 0, 0, _KILL_PROCESS),
             (_LOAD, 0, 0, _NR), (_JGE, 0, 1, X32_SYSCALL_BIT), (_RET, 0, 0, _KILL_PROCESS)]
    for name in REFUSED:
        steps += [(_JEQ, 0, 1, numbers[name]), (_RET, 0, 0, _refuse(errno.EPERM))]
    steps += [(_JEQ, 0, 1, numbers["clone3"]), (_RET, 0, 0, _refuse(errno.ENOSYS)),
              (_JEQ, 0, 3, numbers["clone"]), (_LOAD, 0, 0, _ARG0),  # clone's flags: a new namespace?
              (_JSET, 0, 1, NAMESPACE_FLAGS), (_RET, 0, 0, _refuse(errno.EPERM)),
              (_RET, 0, 0, _ALLOW)]
    return steps


def install() -> None:
    """Filter this process's system calls (all its threads') and its descendants', for good."""
    machine = platform.machine()
    steps = program(machine)
    libc = ctypes.CDLL(None, use_errno=True)
    code = b"".join(struct.pack("HBBI", *step) for step in steps)
    instructions = ctypes.create_string_buffer(code, len(code))

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = Program(len(steps), ctypes.addressof(instructions))
    seccomp = ctypes.c_long(_ARCHITECTURES[machine][1]["seccomp"])
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or libc.syscall(
            seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, ctypes.byref(fprog)) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"the sandbox's system-call filter could not be installed: {errno.errorcode.get(error)}")
