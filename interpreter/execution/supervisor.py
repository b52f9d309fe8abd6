"""The supervisor: a tiny parent for one worker that ends the worker's whole process tree, whatever happens.

Usage: python -E -s -S -c "<command()'s line>" LIFELINE_FD TERM_WAIT SWEEP [SANDBOX...] -- WORKER_ARGV...

The parent (the `interpreter` process) starts this program in a new session, holding the other end of the
LIFELINE_FD socket. The supervisor makes itself a child subreaper (Linux), starts the worker as its child in a
process group of its own, writes the worker's pid as a line to the lifeline, and then waits:

- the worker exits: every process left in its tree is killed, and the supervisor exits with the worker's status;
- the lifeline reaches EOF (the parent closed it, or the parent died, even by SIGKILL), or SIGTERM / SIGHUP /
  SIGINT arrives: SIGTERM to the worker's group and every descendant, up to TERM_WAIT seconds for the worker,
  then SIGKILL to all of them, repeated until no descendant is left; if the parent died, every process carrying
  the parent's tag is killed as well.

Being a subreaper means every orphan of the tree (a double-forked job, a `setsid` or `nohup` daemon whose parent
exited) becomes the supervisor's child instead of init's, so nothing escapes it. The worker gets
PR_SET_PDEATHSIG(SIGKILL), so it dies with the supervisor should the supervisor itself be killed. With SWEEP=1 the
supervisor first ends the tagged processes of dead sessions (whose owner process is gone). With SANDBOX arguments
the worker is sandboxed before it starts (sandbox.py); a worker that cannot be sandboxed is not started:

- `landlock PATH...`: the forked child installs the seccomp filter and Landlock (writes beneath PATHs only).
- `bwrap BWRAP_ARGV...`: the forked child runs bubblewrap (bubblewrap.py), which runs `enter` inside its
  namespaces (its init, bwrap's own, is pid 1 there): `enter` leads a process group of its own, so Ctrl-C reaches
  the worker and not bwrap; makes its pid known through a Unix socket, whose credentials the kernel gives in our
  pid namespace; installs the seccomp filter; and becomes the worker. The worker's pid is reported, while the
  forked bwrap stays our child: its status is the worker's (a signal N arrives as 128 + N, turned back here), and
  when it dies its pid namespace, with every process a cell started, dies with it.

Imported alone (not as part of the package), with nothing but os, select, sys, _signal and ctypes (and, for a
sandboxed worker, _socket, and landlock.py and seccomp.py beside it), so it starts ~3 ms after a bare
`python -S`; the parent imports it too for its /proc helpers, so there is one reading of /proc. Everything
/proc-based is Linux-only and finds nothing elsewhere (there, only the worker's group is ended).
"""

from __future__ import annotations

import os
import select
import sys

# Each start counts: importing typing and contextlib would add ~10 ms, and `signal` (which builds enums) ~4 ms;
# `_signal`, the C module under it, has all this uses. Hence no typing.TYPE_CHECKING either: mypy knows the name.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    import signal
    from collections.abc import Callable, Iterable, Iterator, Sequence
else:
    import _signal as signal

TAG_VARIABLE = "STEADY_INTERPRETER_TAG"

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36
# Signals that make us end everything; SIGCHLD only wakes us to reap.
_ENDING = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
# How often the ending checks on the tree, and how long it keeps killing before it gives up on a process
# stuck in the kernel (uninterruptible sleep).
_TICK = 0.01
_KILL_ROUNDS = 500
_ENTRY = "import supervisor; supervisor.main(sys.argv[1:])"
_INNER = "import supervisor; supervisor.enter(sys.argv[1:])"
_BWRAP = "bwrap"  # sandbox.BWRAP: the first sandbox argument when bubblewrap builds the sandbox
_SIGNALS = 64  # bwrap exits with 128 + N for a worker killed by signal N


# ---- reading /proc -----------------------------------------------------------------------------------------


class Proc:
    """One process as /proc/PID/stat describes it."""

    __slots__ = ("pgid", "pid", "ppid", "sid", "start", "state")

    def __init__(self, pid: int, ppid: int, pgid: int, sid: int, *, state: str, start: int) -> None:
        self.pid = pid
        self.ppid = ppid
        self.pgid = pgid
        self.sid = sid
        self.state = state
        self.start = start  # clock ticks after boot: with the pid, identifies a process even after pid reuse

    def __repr__(self) -> str:
        return f"Proc(pid={self.pid}, ppid={self.ppid}, pgid={self.pgid}, sid={self.sid}, state={self.state!r})"


def read_proc(pid: int) -> Proc | None:
    """The process `pid`, or None when it is gone (or there is no /proc)."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.read(fd, 1024)
    except OSError:
        return None
    finally:
        os.close(fd)
    # The command name in parentheses may hold spaces and parentheses itself; the fields after it do not.
    fields = data[data.rfind(b")") + 2 :].split()
    if len(fields) < 20:
        return None
    state = fields[0].decode("ascii", "replace")
    return Proc(pid, int(fields[1]), int(fields[2]), int(fields[3]), state=state, start=int(fields[19]))


def pids(newer_than: int = 0) -> list[int]:
    """Every pid above `newer_than` (pids grow until they wrap, so a process's children mostly rank above it)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    return [pid for pid in map(_number, names) if pid > newer_than]


def processes(newer_than: int = 0) -> Iterator[Proc]:
    """Every process above `newer_than` that /proc lists, then every process born while those were read."""
    # A chain of processes that each fork the next and exit has one live process at a time, born after the
    # listing and gone by the next listing: the pids given meanwhile name it, read last, while it still runs.
    before = _last_pid()
    for pid in pids(newer_than):
        proc = read_proc(pid)
        if proc is not None:
            yield proc
    for pid in _given_since(before):
        proc = read_proc(pid)
        if proc is not None:
            yield proc


def descendants(root: int, *, newer_than: int = 0) -> list[Proc]:
    """The live processes below `root`, found by their parent links (zombies left out)."""
    children: dict[int, list[Proc]] = {}
    for proc in processes(newer_than):
        children.setdefault(proc.ppid, []).append(proc)
    found: list[Proc] = []
    parents = [root]
    while parents:
        below = [child for parent in parents for child in children.get(parent, ())]
        found += below
        parents = [child.pid for child in below]
    return [proc for proc in found if proc.state != "Z"]


def group_members(pgid: int) -> list[Proc]:
    """The live processes of process group `pgid` (zombies left out)."""
    return [proc for proc in processes() if proc.pgid == pgid and proc.state != "Z"]


def command_line(pid: int) -> str:
    """The process's arguments joined by spaces ("" when unreadable)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            return file.read().rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def make_tag(token: str) -> str:
    """Our tag for this process: "<pid>-<start>-<token>", so processes of a dead session can be recognised."""
    me = read_proc(os.getpid())
    return f"{os.getpid()}-{0 if me is None else me.start}-{token}"


def tagged() -> Iterator[tuple[int, str]]:
    """(pid, tag) of each live process of this user, in this pid namespace, carrying a tag."""
    marker = f"{TAG_VARIABLE}=".encode()
    uid = os.getuid()
    namespace = _pid_namespace("self")
    for pid in pids():
        try:
            if os.stat(f"/proc/{pid}").st_uid != uid:
                continue
            with open(f"/proc/{pid}/environ", "rb") as file:
                environ = file.read()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        for entry in environ.split(b"\0"):
            if entry.startswith(marker) and _pid_namespace(str(pid)) == namespace:
                yield pid, entry[len(marker) :].decode("ascii", "replace")
                break


def owner_alive(tag: str) -> bool:
    """Whether the process that made `tag` still runs (True for a tag not in our format: not ours to judge)."""
    try:
        owner, start = (int(part) for part in tag.split("-")[:2])
    except ValueError:
        return True
    proc = read_proc(owner)
    return proc is not None and proc.start == start


def is_supervisor(pid: int) -> bool:
    """Whether `pid` runs this program."""
    return _ENTRY in command_line(pid)


def command(python: str) -> list[str]:
    """The argv start of a supervisor; its arguments follow (see the module docstring)."""
    # Imported rather than run by path, so its bytecode is cached; -E -s -S: no site, no environment, fast.
    here = os.path.dirname(os.path.abspath(__file__))
    return [python, "-E", "-s", "-S", "-c", f"import sys; sys.path[0] = {here!r}; {_ENTRY}"]


def kill_all(found: Iterable[int], signum: int = signal.SIGKILL) -> list[int]:
    """Send `signum` to each pid; the ones it reached."""
    reached = []
    for pid in found:
        try:
            os.kill(pid, signum)
        except OSError:  # gone already
            continue
        reached.append(pid)
    return reached


def _ignoring_os_errors(call: Callable[..., object], *args: int | bytes) -> None:
    """`call(*args)`, where failing is fine (contextlib.suppress, without importing contextlib)."""
    try:
        call(*args)
    except OSError:
        return


def _number(name: str) -> int:
    return int(name) if name.isdigit() else 0


def _given_since(before: int) -> list[int]:
    """The pids given since the last given pid was `before` (pids are given in turn, wrapping at pid_max)."""
    after = _last_pid()
    if not (before and after):
        return []
    if after >= before:
        return list(range(before + 1, after + 1))
    return [*range(before + 1, _read_number("/proc/sys/kernel/pid_max")), *range(1, after + 1)]


def _last_pid() -> int:
    """The pid this pid namespace gave last (0 when unknown)."""
    return _read_number("/proc/sys/kernel/ns_last_pid")


def _read_number(path: str) -> int:
    """The number a /proc file holds (0 when it cannot be read)."""
    try:
        with open(path, "rb") as file:
            return int(file.read())
    except (OSError, ValueError):
        return 0


def _pid_namespace(pid: str) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return ""


# ---- prctl -------------------------------------------------------------------------------------------------


def _prctl(option: int, value: int) -> bool:
    """prctl(2) on Linux; False where it does not exist or fails."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # noqa: PLC0415 - only on Linux, and only in the supervisor

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(option, value, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


# ---- the supervisor ----------------------------------------------------------------------------------------


def main(argv: Sequence[str]) -> None:
    """Start the worker, report its pid, and end its whole tree when it exits or the parent lets go."""
    lifeline, term_wait, sweep = int(argv[0]), float(argv[1]), argv[2] == "1"
    end = argv.index("--")
    sandbox, command = list(argv[3:end]), list(argv[end + 1 :])
    parent = os.getppid()
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    for signum in (signal.SIGCHLD, *_ENDING):
        signal.signal(signum, _wake)
    os.set_inheritable(lifeline, False)
    child, worker = _spawn(command, sandbox)
    _close_fds_except(lifeline, wake_read, wake_write)  # the worker's pipe ends: only the worker holds them
    _ignoring_os_errors(os.write, lifeline, b"%d\n" % worker)  # fails if the parent is gone: we end at once
    tree = _Tree(child, wake_read)
    try:
        if sweep:  # stragglers of sessions whose interpreter died, supervisors and all
            kill_all(pid for pid, tag in tagged() if not owner_alive(tag))
        if tree.wait_for_end(lifeline):
            tree.terminate(term_wait)
    finally:  # whatever went wrong above, the tree goes
        tree.kill()
    if os.getppid() != parent:  # the parent died: stray processes of its other workers go too
        _sweep(lambda tag: tag == os.environ.get(TAG_VARIABLE))
    _exit_like(_unwrapped(tree.status) if sandbox[:1] == [_BWRAP] else tree.status)


def _sweep(wanted: Callable[[str], bool]) -> None:
    """Kill the processes whose tag is `wanted`, except supervisors (each ends its own tree), until none is left."""
    for _ in range(3):
        found = [pid for pid, tag in tagged() if wanted(tag) and not is_supervisor(pid)]
        if not kill_all(found):
            return


def _wake(signum: int, frame: object) -> None:
    """Signal handler: the signal number reaches the wake-up pipe, which is all we need."""


def _spawn(command: list[str], sandbox: list[str]) -> tuple[int, int]:
    """Start the worker, sandboxed as `sandbox` says; (our child, the worker's pid): the same unless in bwrap."""
    if sandbox[:1] != [_BWRAP]:
        pid = _fork(command, sandbox[1:])
        return pid, pid
    import _socket  # noqa: PLC0415 - only bwrap needs it (and not socket.py, which imports enum)

    ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        ours.setsockopt(_socket.SOL_SOCKET, _socket.SO_PASSCRED, 1)
        os.set_inheritable(theirs.fileno(), True)
        pid = _fork([*sandbox[1:], "--", *_inner_command(theirs.fileno(), command)], [])
        theirs.close()  # so the read below ends should bwrap fail before `enter` writes
        worker = _sender(ours)
    finally:
        ours.close()
        theirs.close()
    if not worker:
        os.write(2, f"could not sandbox {command[0]}: bubblewrap did not start it\n".encode())
    return pid, worker or pid


def _fork(command: list[str], writable: list[str]) -> int:
    """Fork and exec `command` in a process group of its own, under Landlock if `writable` names paths; its pid."""
    supervisor = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: this process is single-threaded, so running Python between fork and exec is safe
        doing = "start"
        try:
            os.setpgid(0, 0)
            _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != supervisor:  # the supervisor died before the line above took effect
                os._exit(1)
            _default_signals()
            if writable:
                doing = "sandbox"
                _confine(writable)  # a worker that cannot be sandboxed never starts: no silent downgrade
                doing = "start"
            os.execvp(command[0], command)
        except BaseException as error:
            os.write(2, f"could not {doing} {command[0]}: {error}\n".encode())
        os._exit(127)
    # Also here, so no signal to the group can come before the child's own call (fails once it has exec'd).
    _ignoring_os_errors(os.setpgid, pid, pid)
    return pid


def enter(argv: Sequence[str]) -> None:
    """Inside bubblewrap: lead a process group, make our pid known, install the seccomp filter, become the worker.

    Usage: python -E -s -S -c "<_inner_command()'s line>" REPORT_FD -- WORKER_ARGV...
    """
    report, command = int(argv[0]), list(argv[2:])
    doing = "sandbox"
    try:
        os.setpgid(0, 0)  # signals for the running code go to this group: bwrap, outside it, would die of them
        os.write(report, b"\n")  # the kernel attaches our pid, which the supervisor reads
        os.close(report)
        _default_signals()
        _filter_system_calls()
        doing = "start"
        os.execvp(command[0], command)
    except BaseException as error:
        os.write(2, f"could not {doing} {command[0]}: {error}\n".encode())
    os._exit(127)


def _inner_command(report: int, command: list[str]) -> list[str]:
    """The argv that runs `enter` and then `command`, inside bwrap."""
    here = os.path.dirname(os.path.abspath(__file__))
    entry = f"import sys; sys.path[0] = {here!r}; {_INNER}"
    return [sys.executable, "-E", "-s", "-S", "-c", entry, str(report), "--", *command]


def _sender(sock: _socket.socket) -> int:
    """The pid (in our namespace) of the process that wrote a byte to `sock`; 0 if none did before EOF."""
    import _socket  # noqa: PLC0415 - as in _spawn

    try:
        data, ancillary, _, _ = sock.recvmsg(1, _socket.CMSG_SPACE(12))  # struct ucred: pid, uid, gid
    except OSError:
        return 0
    for level, kind, value in ancillary:
        if data and level == _socket.SOL_SOCKET and kind == _socket.SCM_CREDENTIALS:
            return int.from_bytes(value[:4], sys.byteorder)
    return 0


def _unwrapped(status: int | None) -> int | None:
    """The worker's wait status from bwrap's, which exits with 128 + N when the worker was killed by signal N."""
    if status is None or not os.WIFEXITED(status):
        return status
    code = os.WEXITSTATUS(status)
    return code - 128 if 128 < code <= 128 + _SIGNALS else status


def _default_signals() -> None:
    """Python ignores SIGPIPE and SIGXFSZ; the programs it starts expect the defaults."""
    for signum in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(signum, signal.SIG_DFL)


def _filter_system_calls() -> None:
    """Install the seccomp filter (no socket but Unix ones, no connect, no io_uring), with NO_NEW_PRIVS."""
    # Imported alone, as this module is, and here: only a sandboxed worker needs it.
    if TYPE_CHECKING:
        from interpreter.execution import seccomp  # noqa: PLC0415
    else:
        import seccomp  # noqa: PLC0415

    seccomp.install(seccomp.network_filter())


def _confine(writable: list[str]) -> None:
    """Sandbox this process and all it will start: writes beneath `writable` only, no network but Unix sockets."""
    if TYPE_CHECKING:
        from interpreter.execution import landlock  # noqa: PLC0415
    else:
        import landlock  # noqa: PLC0415

    _filter_system_calls()  # first: it sets the PR_SET_NO_NEW_PRIVS Landlock needs
    landlock.restrict(writable, landlock.abi())


def _close_fds_except(*kept: int) -> None:
    """Close every open descriptor from 3 up, except `kept`."""
    listing = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
    for fd in map(int, os.listdir(listing)):
        if fd > 2 and fd not in kept:
            _ignoring_os_errors(os.close, fd)  # fails for the listing's own descriptor, already closed


class _Tree:
    """The worker and everything below it; reaps what the supervisor, as their subreaper, inherits."""

    def __init__(self, worker: int, wake: int) -> None:
        self.worker = worker
        self.status: int | None = None  # the worker's wait status, once reaped
        self._wake = wake
        self._me = os.getpid()

    def wait_for_end(self, lifeline: int) -> bool:
        """Wait until the worker exits (False) or we are told to end it (True: EOF or an ending signal)."""
        while True:
            ready, _, _ = select.select([lifeline, self._wake], [], [])
            if self._wake in ready:
                signals = self._woken()
                self.reap()
                if self.status is not None:
                    return False
                if any(signum in signals for signum in _ENDING):
                    return True
            if lifeline in ready and not _read_or_eof(lifeline):
                return True

    def terminate(self, term_wait: float) -> None:
        """SIGTERM to the worker's group and every descendant; wait up to `term_wait` s for the worker."""
        self._signal_all(signal.SIGTERM, signal.SIGCONT)  # a stopped process acts on SIGTERM once continued
        rounds = int(term_wait / _TICK)
        for _ in range(rounds):
            self.reap()
            if self.status is not None:
                return
            select.select([self._wake], [], [], _TICK)
            self._woken()

    def kill(self) -> None:
        """SIGKILL the worker's group and every descendant, again until no child of ours is left."""
        for _ in range(_KILL_ROUNDS):
            self._signal_all(signal.SIGKILL)
            if not self.reap():
                return
            select.select([], [], [], _TICK)

    def reap(self) -> bool:
        """Reap every child that ended; whether any child is left."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return False
            if pid == 0:
                return True
            if pid == self.worker:
                self.status = status

    def _woken(self) -> bytes:
        """The signal numbers the wake-up pipe holds (it never blocks)."""
        try:
            return os.read(self._wake, 512)
        except BlockingIOError:
            return b""

    def _signal_all(self, *signums: int) -> None:
        """Send each signal to the worker's group and to every descendant (found once: it costs a /proc scan)."""
        below = [proc.pid for proc in descendants(self._me)]
        for signum in signums:
            _ignoring_os_errors(os.killpg, self.worker, signum)  # fails once the group is empty
            kill_all(below, signum)


def _read_or_eof(fd: int) -> bool:
    """Read what the lifeline holds; False at EOF (or when the connection broke)."""
    try:
        return bool(os.read(fd, 512))
    except OSError:
        return False


def _exit_like(status: int | None) -> None:
    """Exit as the worker did, so the parent sees its status (0 if it never ended by itself)."""
    if status is None or not os.WIFSIGNALED(status):
        os._exit(0 if status is None else os.waitstatus_to_exitcode(status))
    signum = os.WTERMSIG(status)
    _prctl(_PR_SET_DUMPABLE, 0)  # a worker's crash is not ours: no core dump of the supervisor
    if signum not in (signal.SIGKILL, signal.SIGSTOP):  # which have no handler to reset
        signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)
