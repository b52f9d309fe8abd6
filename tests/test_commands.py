"""The %commands, each against fakes: a scripted model behind the real resilience layer, a plain renderer, a store."""

from __future__ import annotations

import dataclasses
import errno
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from fake_server import FakeServer
from fake_server import Reply as Scripted
from fakes import FakeAdapter, FakeChatModel, FakeClock, FakeRunner, call_reply, rate_limited_for, text_reply
from rich.cells import cell_len

from interpreter import commands
from interpreter.conversation.storage import Conversation, ConversationStore, to_json
from interpreter.errors import CommandError, InterpreterError, SandboxUnavailable, StorageError
from interpreter.execution import Executor, sandbox
from interpreter.messages import Message, Reply, ResponseHeaders, StreamItem, TextDelta, Usage
from interpreter.model.context import ContextWindow
from interpreter.model.llm import OpenAIChatModel
from interpreter.model.prices import Prices
from interpreter.model.spending import Spending
from interpreter.repl import replay, run_interactive
from interpreter.resilience.fallback import FallbackModel, Route
from interpreter.resilience.limiter import Limiter, RateLimiter, Reading
from interpreter.resilience.model import ResilientModel
from interpreter.resilience.shared.budget import SharedLimiter
from interpreter.resilience.shared.sqlite import SqliteStore
from interpreter.session import Session
from interpreter.ui.approval import Approver
from interpreter.ui.interrupts import CtrlC
from interpreter.ui.plain import PlainRenderer
from interpreter.ui.prompt import Prompter

NEW_PROCESSES = "code runs in new processes (earlier variables are gone)"
HEADERS = {
    "x-ratelimit-limit-requests": "500",
    "x-ratelimit-remaining-requests": "499",
    "x-ratelimit-limit-tokens": "30000",
    "x-ratelimit-remaining-tokens": "29000",
}


@dataclass
class Rig:
    """One session's collaborators, wired as launch wires them, with fakes at the edges."""

    model: FakeChatModel
    runner: FakeRunner
    screen: io.StringIO
    context: commands.CommandContext
    asked: list[str]
    clock: FakeClock

    def run(self, line: str) -> list[str]:
        """Run one command line; the lines it showed."""
        start = self.screen.tell()
        commands.run(line, self.context)
        self.screen.seek(start)
        shown = self.screen.read().splitlines()
        self.screen.seek(0, io.SEEK_END)
        return shown

    def send(self, task: str) -> str:
        """Work on a task, drawing every event; what it showed."""
        start = self.screen.tell()
        for event in self.context.session.send(task):
            self.context.renderer.handle(event)
        self.context.renderer.stop()
        return self.screen.getvalue()[start:]

    @property
    def session(self) -> Session:
        return self.context.session

    @property
    def store(self) -> ConversationStore:
        return self.context.store


def build(
    tmp_path: Path,
    model: FakeChatModel | None = None,
    chat: OpenAIChatModel | None = None,
    *,
    executor: Executor | None = None,
    limiter: Limiter | None = None,
    clock: FakeClock | None = None,
) -> Rig:
    """The rig; with `executor`, code runs for real in it; with `limiter`, on `clock`, requests are limited by it."""
    model = model or FakeChatModel()
    clock = clock or FakeClock()
    adapter = chat or FakeAdapter("gpt-4o")
    resilient = ResilientModel(chat or model, limiter=limiter, clock=clock, sleep=clock.sleep)
    api = FallbackModel([Route(adapter, resilient)], after=10.0, clock=clock)
    screen = io.StringIO()
    renderer = PlainRenderer(screen)
    asked: list[str] = []

    def decline(question: str) -> str:
        asked.append(question)
        return "n"

    runner = FakeRunner()
    approver = Approver(
        decline, tell=renderer.error, show=renderer.handle, sandboxed=lambda: (executor or runner).sandboxed
    )
    store = ConversationStore(tmp_path / "conversations")
    session = Session(
        model=api,
        runner=executor or runner,
        confirm=approver,
        conversation=Conversation.new("gpt-4o"),
        save=store.save,
        system="SYSTEM",
        window=ContextWindow(api),
    )
    context = commands.CommandContext(
        session,
        renderer,
        approver,
        store,
        api=api,
        chat=api,
        replay=lambda past: replay(past, renderer),
        restart=executor.restart if executor else runner.restart,
        sandbox=executor or runner,
        save=store.save,
    )
    return Rig(model, runner, screen, context, asked, clock)


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return build(tmp_path)


def answered(rig: Rig, *tasks: str) -> None:
    """Work on each task, the model answering each in plain text."""
    for task in tasks:
        rig.model.enqueue(text_reply(f"answer to {task}"))
        rig.send(task)


# ---- the table ------------------------------------------------------------------------------------------------------


def test_help_lists_every_command_with_one_line_each(rig: Rig) -> None:
    shown = rig.run("%help")
    assert [line.split()[0] for line in shown] == commands.names()
    assert all(len(line.split()) > 2 for line in shown)
    assert "%save FILE" in "\n".join(shown)


def test_an_unknown_command_gets_a_one_line_hint_naming_help(rig: Rig) -> None:
    with pytest.raises(CommandError, match=r"^unknown command %foo: %help lists the commands$"):
        rig.run("%foo bar")


def test_completion_words_are_the_command_names() -> None:
    assert commands.names()[0] == "%help"
    assert {"%reset", "%undo", "%save", "%load", "%tokens", "%model", "%auto-run", "%verbose", "%conversations"} <= set(
        commands.names()
    )


def test_commands_never_reach_the_model_and_failures_are_one_line(
    rig: Rig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = io.StringIO("%foo\n%help\n%verbose maybe\nexit\n")
    prompter = Prompter(tmp_path / "history", stdin=lines)
    context = rig.context
    status = run_interactive(rig.session, context.renderer, prompter, CtrlC(), lambda line: commands.run(line, context))
    assert status == 0
    assert rig.model.requests == []
    shown = rig.screen.getvalue()
    assert "error: unknown command %foo: %help lists the commands\n" in shown
    assert "error: usage: %verbose on|off\n" in shown
    assert "Traceback" not in shown + capsys.readouterr().out


# ---- conversations --------------------------------------------------------------------------------------------------


def test_reset_starts_a_new_conversation_and_the_old_one_stays_saved(rig: Rig) -> None:
    answered(rig, "first task")
    old = rig.session.conversation
    shown = rig.run("%reset")
    new = rig.session.conversation
    assert new.id != old.id and new.messages == []
    assert shown == [f"new conversation {new.id}; {old.id} stays saved; {NEW_PROCESSES}"]
    assert rig.runner.restarts == 1
    assert rig.store.load(old.id).messages == old.messages
    rig.model.enqueue(text_reply("fresh"))
    rig.send("second task")
    sent, _ = rig.model.requests[-1]
    assert [m.content for m in sent] == ["SYSTEM", "second task"]


def test_reset_ends_the_language_processes_with_their_variables_and_background_jobs(tmp_path: Path) -> None:
    with Executor() as executor:
        rig = build(tmp_path, executor=executor)
        rig.context.approver.auto_run = True
        rig.model.enqueue(call_reply(("python", "x = 41"), ("shell", "sleep 1000 & echo $!")), text_reply("set"))
        rig.send("set x and start a job")
        job = psutil.Process(int(rig.session.conversation.messages[3].content.splitlines()[0]))

        rig.run("%reset")
        rig.model.enqueue(call_reply(("python", "print(x)")), text_reply("gone"))
        rig.send("print x")

        assert "NameError: name 'x' is not defined" in rig.session.conversation.messages[2].content
        job.wait(timeout=10)  # ended by the reset (it raises if the job is still running by then)


def test_undo_drops_the_last_task_and_everything_after_it(rig: Rig) -> None:
    answered(rig, "first task")
    rig.model.enqueue(call_reply(("python", "print(2)")), text_reply("done"))
    rig.context.approver.auto_run = True
    rig.send("second task\nwith two lines")

    shown = rig.run("%undo")

    assert shown == ["dropped the last exchange: 'second task' and the 3 messages after it"]
    assert [m.content for m in rig.session.conversation.messages] == ["first task", "answer to first task"]
    assert rig.store.load(rig.session.conversation.id).messages == rig.session.conversation.messages
    rig.run("%undo")
    with pytest.raises(CommandError, match="nothing to undo"):
        rig.run("%undo")


def test_save_writes_the_stored_json_and_load_continues_it_as_a_new_conversation(rig: Rig, tmp_path: Path) -> None:
    answered(rig, "first task", "second task")
    path = tmp_path / "saved.json"
    assert rig.run(f"%save {path}") == [f"saved 4 messages to {path} as JSON"]
    saved = json.loads(path.read_text())
    assert saved == json.loads(to_json(rig.session.conversation))

    rig.run("%reset")
    shown = rig.run(f"%load {path}")

    loaded = rig.session.conversation
    replayed = ["> first task", "answer to first task", "> second task", "answer to second task"]
    assert shown == [*replayed, f"loaded 4 messages from {path} as conversation {loaded.id}"]
    assert loaded.id != saved["id"]
    assert (
        [m.to_dict() for m in loaded.messages]
        == [{name: value for name, value in m.items() if name != "model"} for m in saved["messages"]]
        != []
    )
    assert [m.model for m in loaded.messages] == [None, "gpt-4o", None, "gpt-4o"]  # who wrote each answer
    assert rig.store.load(loaded.id).messages == loaded.messages
    rig.model.enqueue(text_reply("third answer"))
    rig.send("third task")
    sent, _ = rig.model.requests[-1]
    assert [m.content for m in sent][1:4] == ["first task", "answer to first task", "second task"]


def test_save_as_markdown_writes_a_transcript(rig: Rig, tmp_path: Path) -> None:
    answered(rig, "list the files")
    path = tmp_path / "notes.md"
    assert rig.run(f"%save {path}") == [f"saved 2 messages to {path} as a Markdown transcript"]
    text = path.read_text()
    assert text.startswith(f"# Conversation {rig.session.conversation.id}")
    assert "list the files" in text and "answer to list the files" in text


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("%save", "usage: %save FILE"),
        ("%save /nonexistent-dir/x.json", "cannot write /nonexistent-dir/x.json: No such file or directory"),
        ("%load", "usage: %load FILE"),
        ("%load /nonexistent.json", "cannot read /nonexistent.json: No such file or directory"),
        ("%load /dev/zero", "cannot read /dev/zero: it is a character device, not a regular file"),
    ],
)
def test_file_problems_are_one_line(rig: Rig, line: str, problem: str) -> None:
    with pytest.raises(InterpreterError) as failure:
        rig.run(line)
    assert str(failure.value).startswith(problem)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "bad.json: it is not JSON (Expecting property name"),
        ('{"version": 1, "id": "x"}', "bad.json: the file has no 'messages'"),
        ('{"version": 9}', "bad.json: unknown format version 9"),
        ("[1, 2]", "bad.json: message 1 is not a JSON object"),  # a list is read as Open Interpreter's (LMC)
        ('{"version": 2, "messages": [{"role": "wizard", "content": "hi"}]}', "message 1 has an unknown role 'wizard'"),
        ('{"version": 2, "messages": [{"role": "user", "content": 7}]}', "message 1 has a 'content' that is not text"),
        ('{"version": 2, "messages": ' + "[" * 100_000, "bad.json: its JSON is nested too deeply"),
    ],
)
def test_a_file_that_is_not_a_conversation_is_one_line_and_nothing_changes(
    rig: Rig, tmp_path: Path, content: str, problem: str
) -> None:
    answered(rig, "keep me")
    before = rig.session.conversation
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(StorageError) as failure:
        rig.run(f"%load {path}")
    assert problem in str(failure.value) and "\n" not in str(failure.value)
    assert rig.session.conversation is before


def test_conversations_lists_the_recent_ones_with_the_current_one_marked(rig: Rig) -> None:
    answered(rig, "an old task")
    old = rig.session.conversation.id
    rig.run("%reset")
    answered(rig, "a new task\nsecond line")
    shown = rig.run("%conversations")
    assert len(shown) == 2
    assert shown[0].startswith(f"* {rig.session.conversation.id}  ") and shown[0].endswith("  a new task")
    assert shown[1].startswith(f"  {old}  ") and shown[1].endswith("  an old task")


def test_conversations_cuts_first_lines_by_terminal_cells(rig: Rig) -> None:
    answered(rig, "数据" * 40)  # 80 characters, 160 cells
    (shown,) = rig.run("%conversations")
    first = shown.rsplit("  ", 1)[1]
    assert cell_len(first) == 60 and first.endswith("…")


def test_conversations_says_when_there_are_none(rig: Rig) -> None:
    assert rig.run("%conversations") == ["no saved conversations yet"]


# ---- settings for the following requests ----------------------------------------------------------------------------


def test_auto_run_on_runs_code_without_asking_and_off_asks_again(rig: Rig) -> None:
    assert rig.run("%auto-run on") == ["auto-run: on"]
    rig.model.enqueue(call_reply(("python", "print(1)")), text_reply("ran it"))
    rig.send("run something")
    assert rig.asked == [] and len(rig.runner.ran) == 1

    assert rig.run("%auto-run off") == ["auto-run: off"]
    rig.model.enqueue(call_reply(("python", "print(2)")), text_reply("declined"))
    rig.send("run something else")
    assert len(rig.asked) == 1 and len(rig.runner.ran) == 1
    assert rig.run("%auto-run") == ["auto-run: off"]


def test_verbose_on_shows_step_numbers_and_off_hides_them(rig: Rig) -> None:
    rig.model.enqueue(text_reply("quiet"))
    assert "[step 1]" not in rig.send("one")
    assert rig.run("%verbose on") == ["verbose: on"]
    rig.model.enqueue(text_reply("loud"))
    assert "[step 1]" in rig.send("two")
    rig.run("%verbose off")
    rig.model.enqueue(text_reply("quiet again"))
    assert "[step 1]" not in rig.send("three")


def test_model_shows_the_current_model_and_its_window(rig: Rig) -> None:
    assert rig.run("%model") == ["model: gpt-4o, context window 128,000 tokens (known from its name)"]
    assert rig.run("%model gpt-4") == [
        "model: gpt-4 from the next request, context window 8,192 tokens (known from its name)"
    ]
    assert rig.context.chat.model == "gpt-4"
    assert rig.run("%model my-local-model") == [
        "model: my-local-model from the next request, context window 8,192 tokens (assumed for an unknown model)"
    ]


def test_model_shows_the_fallbacks_and_the_model_standing_in_for_a_busy_one(rig: Rig) -> None:
    primary, mini = FakeChatModel(), FakeChatModel()
    primary.enqueue(rate_limited_for(60))
    mini.enqueue(text_reply("42"))
    routes = [
        Route(FakeAdapter(name), ResilientModel(model, clock=rig.clock, sleep=rig.clock.sleep, random=lambda: 0.0))
        for name, model in (("gpt-4", primary), ("gpt-4o-mini", mini))
    ]
    chain = FallbackModel(routes, after=10.0, clock=rig.clock)
    list(chain.stream([Message("user", "hi")], []))
    rig.clock.advance(15)
    start = rig.screen.tell()

    commands.run("%model", dataclasses.replace(rig.context, chat=chain, api=chain))

    assert rig.screen.getvalue()[start:].splitlines() == [
        "model: gpt-4o-mini, context window 128,000 tokens (known from its name)",
        "fallback models: gpt-4o-mini",
        "gpt-4: rate limited (TPM), free again in 45s",
    ]


def test_model_switches_the_model_the_next_request_names(tmp_path: Path, server: FakeServer) -> None:
    adapter = OpenAIChatModel(model="gpt-4o", api_base=server.url, api_key="sk-test")
    rig = build(tmp_path, chat=adapter)
    server.enqueue(Scripted.text("from 4o"), Scripted.text("from mini"))
    rig.send("first")
    rig.run("%model gpt-4o-mini")
    rig.send("second")
    bodies = [request.body or {} for request in server.requests]
    assert [body.get("model") for body in bodies] == ["gpt-4o", "gpt-4o-mini"]


# ---- tokens ---------------------------------------------------------------------------------------------------------


def reply_with(text: str, usage: Usage, headers: dict[str, str]) -> list[StreamItem | BaseException]:
    return [ResponseHeaders(headers), TextDelta(text), usage, Reply(Message("assistant", text), "stop")]


def test_tokens_before_any_request(rig: Rig) -> None:
    shown = rig.run("%tokens")
    assert shown[0].startswith("context now: ~")
    assert shown[0].endswith(" of 128,000 tokens (gpt-4o: known from its name)")
    assert shown[1:] == [
        "this session: no requests yet",
        "rate limits: not known yet (no rate-limit headers seen)",
        "shared budget: off (this session limits itself alone)",
    ]


def test_tokens_shows_the_context_the_reported_usage_and_the_headroom(rig: Rig) -> None:
    rig.model.enqueue(
        reply_with("one", Usage(1200, 30), HEADERS),
        reply_with("two", Usage(1300, 50), {**HEADERS, "x-ratelimit-remaining-tokens": "27500"}),
    )
    rig.send("first")
    rig.send("second")
    rig.clock.advance(1.0)

    shown = rig.run("%tokens")

    estimate = rig.session.context_tokens()
    assert shown == [
        f"context now: ~{estimate:,} of 128,000 tokens (gpt-4o: known from its name)",
        "this session: 2 requests, 2,500 prompt + 80 completion tokens (server's count)",
        "rate limits: 500/500 RPM, 28,000/30,000 TPM left (seen 1.0s ago)",  # refilled for 1 s
        "shared budget: off (this session limits itself alone)",
    ]


def test_tokens_shows_what_the_session_spent_and_the_task_against_the_cap(rig: Rig) -> None:
    money = Spending({"gpt-4o": Prices(2.50, 10.00)}.get, cap=0.05)
    rig.context = dataclasses.replace(rig.context, spending=money)
    assert rig.run("%tokens")[2] == "spent: nothing yet; this task $0.00 of --max-cost $0.05"
    money.spend("gpt-4o", Usage(2_000, 100))
    money.spend("gpt-4o", Usage(2_200, 80, estimated=True))
    money.begin_task()
    money.spend("gpt-4o", Usage(2_400, 100))  # $0.006 + $0.0063 + $0.007

    assert rig.run("%tokens")[2] == "spent: 3 requests · ≈6,880 tokens · $0.02; this task $0.007 of --max-cost $0.05"


def test_tokens_shows_the_shared_budget_and_the_other_sessions_using_it(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "budget.sqlite3"
    key = "http://127.0.0.1/v1|0123456789abcdef|gpt-4o"
    limiter = SharedLimiter(SqliteStore(path, clock=clock), lambda: key, local=RateLimiter(clock), say=print)
    rig = build(tmp_path, limiter=limiter, clock=clock)
    other = SqliteStore(path, clock=clock)  # another session on this machine
    other.observe(key, "other", [Reading("tokens", 30_000, 12_000, None)])
    other.reserve(key, "late", 20_000)

    shown = rig.run("%tokens")

    assert shown[2:] == [
        "rate limits: 12,000/30,000 TPM left (seen 0.0s ago)",
        f"shared budget: sqlite {path}: 2 other sessions, 1 waiting",
    ]


def test_tokens_says_when_older_parts_will_be_trimmed(tmp_path: Path) -> None:
    rig = build(tmp_path)
    rig.context.chat.model = "gpt-4"
    rig.session.conversation.messages.extend(
        [Message("user", "x" * 40_000), Message("assistant", "ok"), Message("user", "again")]
    )
    trimmed = " of 8,192 tokens (gpt-4: known from its name) (older parts are trimmed when sent)"
    assert rig.run("%tokens")[0].endswith(trimmed)


def test_tokens_through_the_sdk_reads_the_servers_usage_and_headers(tmp_path: Path, server: FakeServer) -> None:
    adapter = OpenAIChatModel(model="gpt-4o", api_base=server.url, api_key="sk-test")
    rig = build(tmp_path, chat=adapter)
    server.enqueue(Scripted.text("hello there"))
    rig.send("say hello")
    shown = rig.run("%tokens")
    assert shown[1].startswith("this session: 1 request, ") and " prompt + 3 completion tokens" in shown[1]
    assert shown[2].startswith("rate limits: 499/500 RPM, 29,000/30,000 TPM left")


# ---- %sandbox ----------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not sandbox.probe().available, reason="this machine cannot sandbox cells")
def test_sandbox_on_confines_the_next_cells_and_off_frees_them(tmp_path: Path) -> None:
    work, outside, temp = tmp_path / "work", tmp_path / "outside", tmp_path / "temp"
    for folder in (work, outside, temp):
        folder.mkdir()
    with Executor(cwd=work, environ={**os.environ, "TMPDIR": str(temp)}) as executor:
        rig = build(tmp_path, executor=executor)
        touch = call_reply(("shell", f"touch {outside}/x && echo made"))

        on = rig.run("%sandbox on")
        rig.model.enqueue(touch, text_reply("asked"))
        rig.send("touch it")
        rig.context.approver.auto_run = True
        rig.model.enqueue(touch, text_reply("refused"))
        rig.send("touch it")
        refused = rig.session.conversation.messages[-2].content
        off = rig.run("%sandbox off")
        rig.model.enqueue(touch, text_reply("made"))
        rig.send("touch it")

    assert on == [
        "sandbox: on; code writes only in this directory and the temp directory, and has no network "
        "(it runs in new processes: earlier variables are gone)"
    ]
    assert rig.asked == ["Run this code (sandboxed)? [y/N/e] "]
    assert ("Read-only file system" if sandbox.probe().bwrap else "Permission denied") in refused  # bwrap, Landlock
    assert off == ["sandbox: off (code runs in new processes: earlier variables are gone)"]
    assert rig.session.conversation.messages[-2].content == "made\n"


def test_sandbox_on_where_it_cannot_be_set_up_is_one_line_and_cells_stay_as_they_were(tmp_path: Path) -> None:
    def no_landlock() -> sandbox.Availability:
        return sandbox.probe(
            landlock_abi=_without_landlock, bwrap=lambda: sandbox.Availability(without_bwrap="no bwrap")
        )

    with Executor(probe=no_landlock) as executor:
        rig = build(tmp_path, executor=executor)
        with pytest.raises(SandboxUnavailable) as refused:
            rig.run("%sandbox on")
        shown = rig.run("%sandbox")

    assert str(refused.value).startswith("cannot sandbox cells: no bwrap, and this kernel has no Landlock")
    assert shown == ["sandbox: off"]


def _without_landlock() -> int:
    """What landlock_create_ruleset answers on a kernel without Landlock."""
    raise OSError(errno.ENOSYS, os.strerror(errno.ENOSYS))
