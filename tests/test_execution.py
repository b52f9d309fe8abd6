"""The Executor driving real python, bash and node workers; every test checks that no process outlives it."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from interpreter.errors import ExecutionError, LanguageUnavailable, UnknownLanguage
from interpreter.execution import LANGUAGES, Executor, ExecutorState, KernelState, Language
from interpreter.execution.executor import TAG_VARIABLE
from interpreter.messages import Notice, OutputChunk, RunItem, RunResult

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds processes through /proc")

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
needs_perl = pytest.mark.skipif(shutil.which("perl") is None, reason="perl is not installed")


def tagged_processes(tag: str) -> list[int]:
    """Pids of live processes whose environment carries the executor's tag."""
    marker = f"{TAG_VARIABLE}={tag}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if marker in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def assert_nothing_left(tag: str) -> None:
    """Fail unless every tagged process is gone within 3 s."""
    deadline = time.monotonic() + 3
    while (left := tagged_processes(tag)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == [], f"processes left behind: {left}"


def run(executor: Executor, language: str, code: str, timeout: float | None = None) -> tuple[str, RunResult]:
    """Run a cell to its end; the text of its chunks and its result."""
    items = [item for item in executor.run(language, code, timeout) if not isinstance(item, Notice)]  # the banner
    *chunks, result = items
    assert isinstance(result, RunResult)
    assert all(isinstance(chunk, OutputChunk) for chunk in chunks)
    return "".join(chunk.text for chunk in chunks if isinstance(chunk, OutputChunk)), result


@pytest.fixture
def executor() -> Iterator[Executor]:
    """An executor checked to leave no process behind; its grace period is long for a loaded machine."""
    with Executor(grace=5.0) as started:
        yield started
    assert_nothing_left(started.tag)


@pytest.fixture
def impatient() -> Iterator[Executor]:
    """An executor that kills an interrupted cell after only 0.5 s, for code that ignores SIGINT."""
    with Executor(grace=0.5) as started:
        yield started
    assert_nothing_left(started.tag)


# ---- python ------------------------------------------------------------------------------------------------


def test_python_keeps_variables_between_cells(executor: Executor) -> None:
    run(executor, "python", "x = 1\nimport json")
    shown, result = run(executor, "python", "print(x, json.dumps([x]))")
    assert shown == result.output == "1 [1]\n"
    assert result.exit_status == 0
    assert not result.restarted


def test_python_shows_the_value_of_a_final_expression(executor: Executor) -> None:
    assert run(executor, "python", "y = 20\ny + 22")[1].output == "42\n"
    assert run(executor, "python", "'text'")[1].output == "'text'\n"
    assert run(executor, "python", "None")[1].output == ""


def test_python_exception_shows_the_cells_traceback_only(executor: Executor) -> None:
    _, result = run(executor, "python", "def divide():\n    return 1 / 0\n\ndivide()")
    assert result.exit_status == 1
    assert "return 1 / 0" in result.output
    assert "divide()" in result.output
    assert result.output.rstrip().endswith("ZeroDivisionError: division by zero")
    assert "python_worker" not in result.output


def test_python_syntax_error_is_reported(executor: Executor) -> None:
    _, result = run(executor, "python", "def broken(:\n    pass")
    assert result.exit_status == 1
    assert "SyntaxError" in result.output
    assert "python_worker" not in result.output


def test_python_sys_exit_sets_the_status_and_keeps_state(executor: Executor) -> None:
    assert run(executor, "python", "kept = 5\nimport sys\nsys.exit(3)")[1].exit_status == 3
    _, result = run(executor, "python", "kept")
    assert (result.output, result.restarted) == ("5\n", False)


def test_python_worker_that_exits_is_replaced_on_the_next_run(executor: Executor) -> None:
    run(executor, "python", "lost = 1")
    _, ended = run(executor, "python", "import os\nos._exit(4)")
    assert ended.exit_status == 4
    _, result = run(executor, "python", "print('lost' in globals())")
    assert result.restarted
    assert "state from earlier cells are gone" in result.output
    assert result.output.endswith("False\n")


# ---- shell -------------------------------------------------------------------------------------------------


def test_shell_keeps_working_directory_and_exported_variables(executor: Executor, tmp_path: Path) -> None:
    run(executor, "shell", f"cd {tmp_path}")
    run(executor, "bash", "export GREETING=hello")
    _, result = run(executor, "sh", 'pwd; echo "$GREETING"')
    assert result.output == f"{tmp_path}\nhello\n"


def test_shell_reports_the_cells_exit_status(executor: Executor) -> None:
    assert run(executor, "shell", "true")[1].exit_status == 0
    assert run(executor, "shell", "echo before; false")[1].exit_status == 1
    assert run(executor, "shell", "(exit 7)")[1].exit_status == 7


def test_shell_exit_ends_the_run_and_the_next_run_gets_a_new_shell(executor: Executor) -> None:
    run(executor, "shell", "export LOST=1")
    _, ended = run(executor, "shell", "exit 3")
    assert ended.exit_status == 3
    _, result = run(executor, "shell", 'echo "lost=${LOST:-gone}"')
    assert result.restarted
    assert result.output.endswith("lost=gone\n")
    assert result.exit_status == 0


def test_shell_background_job_does_not_hold_the_run_and_dies_on_close() -> None:
    with Executor() as executor:
        _, result = run(executor, "shell", "sleep 1000 & echo started")
        assert result.output.startswith("started\n[still running: PID ")
        assert "(sleep 1000) (ended when the session ends" in result.output
        assert result.elapsed < 10
        assert len(tagged_processes(executor.tag)) == 3  # the supervisor, bash and sleep
    assert_nothing_left(executor.tag)


def test_a_background_job_that_keeps_printing_does_not_hold_the_run(executor: Executor) -> None:
    _, result = run(executor, "shell", "echo started; yes &", timeout=60)
    assert result.exit_status == 0
    assert result.output.startswith("started\n")


def test_shell_worker_variables_cannot_be_clobbered(executor: Executor) -> None:
    run(executor, "shell", "__steady_out=1")
    assert run(executor, "shell", "echo still here")[1].output == "still here\n"


# ---- output ------------------------------------------------------------------------------------------------


def test_stdout_and_stderr_arrive_interleaved_in_order(executor: Executor) -> None:
    code = (
        "import sys\nfor i in range(3):\n"
        "    print('out', i, flush=True)\n    print('err', i, file=sys.stderr, flush=True)"
    )
    _, result = run(executor, "python", code)
    assert result.output == "out 0\nerr 0\nout 1\nerr 1\nout 2\nerr 2\n"
    _, result = run(executor, "shell", "echo one; echo two >&2; echo three")
    assert result.output == "one\ntwo\nthree\n"


def test_output_without_a_trailing_newline_is_kept(executor: Executor) -> None:
    assert run(executor, "python", "print('no newline', end='')")[1].output == "no newline"
    assert run(executor, "shell", "printf partial")[1].output == "partial"


def test_output_that_looks_like_protocol_is_just_output(executor: Executor) -> None:
    code = "print('0')\nprint('\\x00')\nprint('1\\n0\\n')\nimport time\ntime.sleep(0.2)\nprint('after')"
    _, result = run(executor, "python", code)
    assert result.output == "0\n\x00\n1\n0\n\nafter\n"
    _, result = run(executor, "shell", "echo 0; printf '\\0'; echo 0 >&2; echo done")
    assert result.output == "0\n\x000\ndone\n"


def test_reading_stdin_gets_end_of_file_at_once(executor: Executor) -> None:
    _, result = run(executor, "python", "input('name? ')", timeout=30)
    assert "EOFError" in result.output
    assert result.exit_status == 1
    _, result = run(executor, "shell", 'read line; echo "read status $?"', timeout=30)
    assert result.output == "read status 1\n"


def test_invalid_utf8_is_shown_as_replacement_characters(executor: Executor) -> None:
    _, result = run(executor, "python", "import sys\nwritten = sys.stdout.buffer.write(b'\\xff\\xfe ok\\n')")
    assert result.output == "\ufffd\ufffd ok\n"


def test_a_character_split_between_writes_arrives_whole(executor: Executor) -> None:
    code = (
        "import sys, time\nout = sys.stdout.buffer\nout.write('é'.encode()[:1]); out.flush()\n"
        "time.sleep(0.2)\nout.write('é'.encode()[1:] + b'!\\n'); out.flush()"
    )
    assert run(executor, "python", code)[1].output == "é!\n"


def test_huge_output_is_capped_with_bounded_memory() -> None:
    code = "import sys\nblock = 'x' * 1_000_000\nfor _ in range(50):\n    sys.stdout.write(block)\nprint('END')"
    before = psutil.Process().memory_info().rss
    with Executor(output_cap=12_000) as executor:
        shown, result = run(executor, "python", code)
    grown = psutil.Process().memory_info().rss - before
    assert grown < 60_000_000
    assert result.cut_chars > 49_000_000
    assert len(shown) == 8_000  # the head; the rest is in the result's tail
    assert result.tail.endswith("END\n")
    assert len(result.tail) == 4_000
    assert f"[... {result.cut_chars:,} characters cut ...]" in result.output
    assert result.output == f"{shown}\n[... {result.cut_chars:,} characters cut ...]\n{result.tail}"
    assert_nothing_left(executor.tag)


# ---- timeouts and interrupts -------------------------------------------------------------------------------


def test_timeout_interrupts_python_and_keeps_its_state(executor: Executor) -> None:
    run(executor, "python", "kept = 'yes'")
    _, result = run(executor, "python", "while True:\n    pass", timeout=0.5)
    assert result.exit_status is None
    assert result.interrupted
    assert "KeyboardInterrupt" in result.output
    assert "timed out after 0.5 s" in result.output
    _, after = run(executor, "python", "kept")
    assert (after.output, after.restarted) == ("'yes'\n", False)


def test_timeout_on_code_that_ignores_sigint_kills_it_and_restarts(impatient: Executor) -> None:
    code = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nlost = 1\nwhile True:\n    pass"
    _, result = run(impatient, "python", code, timeout=0.5)
    assert result.exit_status is None
    assert "its state is lost" in result.output
    _, after = run(impatient, "python", "print('lost' in globals())")
    assert after.restarted
    assert after.output.endswith("False\n")


def test_timeout_on_a_shell_loop_ends_the_run_and_restarts(executor: Executor) -> None:
    _, result = run(executor, "shell", "while true; do :; done", timeout=0.5)
    assert result.exit_status is None
    assert "timed out" in result.output
    _, after = run(executor, "shell", "echo fresh")
    assert after.restarted
    assert after.output.endswith("fresh\n")


def interrupt_soon() -> threading.Timer:
    """Send this process SIGINT shortly, as the terminal does when the person presses Ctrl-C."""
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def run_until_interrupted(executor: Executor, language: str, code: str) -> list[RunItem]:
    """Run a cell that never ends by itself, Ctrl-C it, and return what the run yielded."""
    items: list[RunItem] = []
    timer = interrupt_soon()
    with pytest.raises(KeyboardInterrupt):
        for item in executor.run(language, code):
            items.append(item)
        time.sleep(10)  # only reached if the run ended by itself: the signal must still land in this block
    timer.join()
    return items


def test_ctrl_c_propagates_and_python_keeps_its_state(executor: Executor) -> None:
    run(executor, "python", "kept = 41")
    items = run_until_interrupted(executor, "python", "import time\nprint('waiting', flush=True)\ntime.sleep(100)")
    assert not any(isinstance(item, RunResult) for item in items)
    _, after = run(executor, "python", "kept + 1")
    assert (after.output, after.restarted) == ("42\n", False)


def test_a_forked_child_hit_by_ctrl_c_never_prints_into_the_next_cell(executor: Executor) -> None:
    code = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    try:\n"
        "        time.sleep(100)\n"
        "    except KeyboardInterrupt:\n"
        "        time.sleep(0.5)\n"
        "        print('child late', flush=True)\n"
        "time.sleep(100)"
    )
    run_until_interrupted(executor, "python", code)
    _, after = run(executor, "python", "time.sleep(1)\nprint('next')")
    assert (after.output, after.restarted) == ("next\n", False)


def test_a_forked_child_that_leaves_the_cell_never_runs_a_later_cell(executor: Executor) -> None:
    code = (
        "import os, sys\n"
        "worker = os.getpid()\n"
        "child = os.fork()\n"
        "if child == 0:\n"
        "    print('child done', flush=True)\n"
        "    sys.exit(0)\n"
        "print(os.waitpid(child, 0)[1])"
    )
    _, forked = run(executor, "python", code, timeout=30)  # a child that went on to the worker's loop never ends
    assert forked.output == "child done\n0\n"
    for _ in range(5):  # a child that took a cell would print False, or nothing
        assert run(executor, "python", "print(os.getpid() == worker)")[1].output == "True\n"


def test_ctrl_c_on_code_that_ignores_it_kills_the_worker_and_restarts(impatient: Executor) -> None:
    code = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nlost = 1\ntime.sleep(100)"
    run_until_interrupted(impatient, "python", code)
    _, after = run(impatient, "python", "print('lost' in globals())")
    assert after.restarted
    assert "state from earlier cells are gone" in after.output
    assert after.output.endswith("False\n")


def test_a_dropped_run_is_stopped_and_state_kept(executor: Executor) -> None:
    run(executor, "python", "kept = 'still'")
    for item in executor.run("python", "import time\nprint('started\\n', end='')\ntime.sleep(100)"):
        assert item == OutputChunk("started\n")
        break
    _, after = run(executor, "python", "kept", timeout=30)
    assert (after.output, after.restarted) == ("'still'\n", False)


def test_ctrl_c_on_a_busy_python_loop_keeps_its_state(executor: Executor) -> None:
    run(executor, "python", "kept = 'busy'")
    run_until_interrupted(executor, "python", "print('spinning', flush=True)\nwhile True:\n    pass")
    _, after = run(executor, "python", "kept")
    assert (after.output, after.restarted) == ("'busy'\n", False)


def test_ctrl_c_on_a_shell_loop_ends_the_shell_and_the_next_run_restarts_it(executor: Executor) -> None:
    run(executor, "shell", "true")  # the shell is up before Ctrl-C comes
    run_until_interrupted(executor, "shell", "echo spinning; while :; do :; done")
    _, after = run(executor, "shell", "echo fresh")
    assert after.restarted
    assert after.output.endswith("fresh\n")


def test_interrupt_in_the_readers_keyboard_interrupt_handler_stops_the_cell(executor: Executor) -> None:
    run(executor, "python", "kept = 1")
    cell = executor.run("python", "import time\nprint('started\\n', end='')\ntime.sleep(100)")
    try:
        for item in cell:
            assert item == OutputChunk("started\n")
            assert executor.kernels == {"python": KernelState.RUNNING}
            raise KeyboardInterrupt  # as if Ctrl-C came while the screen was drawn, outside the run
    except KeyboardInterrupt:
        assert executor.interrupt()  # returns once the cell has ended
    assert executor.kernels == {"python": KernelState.IDLE}
    assert not executor.interrupt()  # nothing runs any more
    *_, result = cell  # the run, resumed, tells how the cell ended
    assert isinstance(result, RunResult)
    assert (result.interrupted, result.exit_status) == (True, None)
    assert "KeyboardInterrupt" in result.output
    assert result.output.endswith("[interrupted]\n")
    _, after = run(executor, "python", "kept + 1")
    assert (after.output, after.restarted) == ("2\n", False)


def test_interrupt_from_another_thread_ends_the_run_with_a_result(executor: Executor) -> None:
    started = threading.Event()
    interrupted: list[bool] = []

    def interrupt_when_started() -> None:
        assert started.wait(60)
        interrupted.append(executor.interrupt())

    helper = threading.Thread(target=interrupt_when_started)
    helper.start()
    items = []
    for item in executor.run("python", "import time\nprint('started\\n', end='')\ntime.sleep(100)"):
        items.append(item)
        if isinstance(item, OutputChunk):  # the cell's own output, not the banner before it
            started.set()
    helper.join()
    assert interrupted == [True]
    result = items[-1]
    assert isinstance(result, RunResult)
    assert result.interrupted
    assert "KeyboardInterrupt" in result.output
    assert executor.kernels == {"python": KernelState.IDLE}


def test_a_kernel_is_interrupting_until_its_cell_stops_and_close_ends_it() -> None:
    code = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGINT, lambda signum, frame: sys.stdout.write('got SIGINT\\n'))\n"
        "sys.stdout.write('ready\\n')\n"
        "while True:\n"
        "    time.sleep(0.05)"
    )
    executor = Executor(grace=60)
    run(executor, "python", "pass")  # the worker is up, so the cell is what the timeout interrupts
    cell = executor.run("python", code, timeout=1)
    assert next(cell) == OutputChunk("ready\n")
    assert next(cell) == OutputChunk("got SIGINT\n")
    assert executor.kernels == {"python": KernelState.INTERRUPTING}
    executor.close()
    assert (executor.state, executor.kernels) == (ExecutorState.CLOSED, {"python": KernelState.CLOSED})
    *_, result = cell
    assert isinstance(result, RunResult)
    assert "the python process was ended because the session is ending" in result.output
    assert_nothing_left(executor.tag)


def test_the_executors_default_timeout_applies_to_runs_without_one() -> None:
    with Executor(timeout=0.3) as executor:
        _, result = run(executor, "python", "while True:\n    pass")
        assert result.interrupted
        assert "timed out after 0.3 s" in result.output
        _, longer = run(executor, "python", "import time\ntime.sleep(0.5)\nprint('slept')", timeout=60)
        assert (longer.output, longer.interrupted) == ("slept\n", False)
    assert_nothing_left(executor.tag)


def test_a_second_run_while_one_is_unfinished_is_refused(executor: Executor) -> None:
    first = executor.run("python", "print('one\\n', end='')\nimport time\ntime.sleep(100)")
    assert isinstance(next(first), Notice)  # the banner naming the Python, once the cell is sent
    assert next(first) == OutputChunk("one\n")
    with pytest.raises(ExecutionError, match="already running"):
        next(executor.run("python", "print('two')"))
    first.close()


# ---- javascript --------------------------------------------------------------------------------------------


@needs_node
def test_javascript_keeps_globals_and_shows_values(executor: Executor) -> None:
    run(executor, "javascript", "var count = 2; let label = 'n'")
    _, result = run(executor, "JS", "console.log(label); count * 21")
    assert result.output == "n\n42\n"
    assert run(executor, "node", "require('path').basename('/a/b.txt')")[1].output == "'b.txt'\n"


@needs_node
def test_javascript_error_shows_a_stack_and_status_1(executor: Executor) -> None:
    _, result = run(executor, "javascript", "function fail() { throw new Error('boom') }\nfail()")
    assert result.exit_status == 1
    assert "Error: boom" in result.output
    assert "at fail (<cell 1>" in result.output
    assert "node_worker" not in result.output
    assert run(executor, "javascript", "1 + 1")[1].output == "2\n"


@needs_node
def test_javascript_timeout_interrupts_and_keeps_state(executor: Executor) -> None:
    run(executor, "javascript", "var kept = 'js'")
    _, result = run(executor, "javascript", "while (true) {}", timeout=0.5)
    assert result.exit_status is None
    _, after = run(executor, "javascript", "kept")
    assert (after.output, after.restarted) == ("'js'\n", False)


# ---- languages and lifecycle -------------------------------------------------------------------------------


def test_unknown_language_names_the_known_ones() -> None:
    with Executor() as executor, pytest.raises(UnknownLanguage, match="python, shell, javascript"):
        executor.run("cobol", "DISPLAY 'HI'")
    assert tagged_processes(executor.tag) == []


def test_language_names_are_case_insensitive_with_aliases() -> None:
    executor = Executor()
    assert [executor.check(name) for name in ("Python", "py", "python3", "BASH", "sh", "js", "Node")] == [
        "python",
        "python",
        "python",
        "shell",
        "shell",
        "javascript",
        "javascript",
    ]


def test_a_language_whose_program_is_missing_is_unavailable() -> None:
    missing = Language("cobol", ("cbl",), "steady-no-such-program", ())
    executor = Executor(languages=(*LANGUAGES, missing))
    assert "cobol" not in executor.languages()
    assert "python" in executor.languages()
    with pytest.raises(LanguageUnavailable, match="cobol is not available here: steady-no-such-program"):
        executor.run("cbl", "DISPLAY 'HI'")


@needs_perl
def test_a_language_without_a_worker_runs_each_cell_in_a_new_process() -> None:
    perl = Language("perl", ("pl",), "perl", ("-e",), keeps_state=False)
    with Executor(languages=(*LANGUAGES, perl)) as executor:
        assert run(executor, "pl", 'print "hi\\n"; $kept = 1')[1].output == "hi\n"
        assert run(executor, "perl", 'print defined $kept ? "kept" : "new", "\\n"')[1].output == "new\n"
        assert run(executor, "perl", 'die "boom\\n"')[1].exit_status == 255
        _, stopped = run(executor, "perl", "sleep 100", timeout=0.3)
        assert stopped.output == "[timed out after 0.3 s and was interrupted]\n"
        _, after = run(executor, "perl", 'print "after\\n"')
        assert (after.output, after.restarted) == ("after\n", False)
    assert_nothing_left(executor.tag)


def test_the_table_offers_ruby_and_r_only_where_installed() -> None:
    offered = Executor().languages()
    assert ("ruby" in offered) == (shutil.which("ruby") is not None)
    assert ("r" in offered) == (shutil.which("Rscript") is not None)
    assert offered[:2] == ["python", "shell"]


def test_working_directory_and_environment_are_set(tmp_path: Path) -> None:
    with Executor(cwd=tmp_path) as executor:
        _, result = run(executor, "shell", f'pwd; echo "$TERM $PAGER ${TAG_VARIABLE}"')
        assert result.output == f"{tmp_path}\ndumb cat {executor.tag}\n"
        assert run(executor, "python", "import sys\nsys.path[0]")[1].output == "''\n"
    assert_nothing_left(executor.tag)


def test_a_missing_working_directory_is_an_execution_error(tmp_path: Path) -> None:
    with (
        Executor(cwd=tmp_path / "missing") as executor,
        pytest.raises(ExecutionError, match="could not start"),
    ):
        run(executor, "shell", "true")


def test_code_with_a_nul_character_is_refused(executor: Executor) -> None:
    with pytest.raises(ExecutionError, match="NUL"):
        executor.run("python", "print('a')\0")


def test_close_ends_every_worker_and_refuses_further_runs() -> None:
    executor = Executor()
    run(executor, "python", "pass")
    run(executor, "shell", "true")
    assert len(tagged_processes(executor.tag)) == 4  # a supervisor and a worker for each
    executor.close()
    executor.close()
    assert_nothing_left(executor.tag)
    with pytest.raises(ExecutionError, match="closed"):
        executor.run("python", "pass")


def test_the_worker_runs_with_this_python_when_the_path_has_none(tmp_path: Path) -> None:
    with Executor(environ={"PATH": str(tmp_path)}) as executor:
        assert run(executor, "python", "import sys\nsys.executable")[1].output == f"{sys.executable!r}\n"
    assert_nothing_left(executor.tag)


def test_prepare_starts_the_worker_before_the_first_cell_and_keeps_it(executor: Executor) -> None:
    executor.prepare("python")
    assert executor.kernels == {"python": KernelState.IDLE}
    assert tagged_processes(executor.tag)  # the worker (and its supervisor) are up before any cell
    run(executor, "python", "x = 41")
    output, result = run(executor, "python", "print(x + 1)")
    assert output == "42\n" and result.exit_status == 0 and not result.restarted


def test_prepare_does_nothing_for_a_language_that_cannot_run_here_or_after_close() -> None:
    missing = Language("nothing", (), "no-such-interpreter-here", ())
    with Executor(languages=[missing, *LANGUAGES]) as executor:
        executor.prepare("nothing")
        assert executor.kernels == {}
    executor.prepare("python")
    assert executor.kernels == {} and tagged_processes(executor.tag) == []
