"""Pictures attached to a task (`-i FILE`, `%image FILE`): sent as one image part on either API to a model that
takes images, refused in one line (nothing sent) otherwise; told by their bytes, scaled down where Pillow is, kept in
the conversation by path and hash only, and a note in their place once their file is gone."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import struct
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_server import FakeServer, RecordedRequest, Reply
from fakes import FakeAdapter, FakeChatModel, FakeRunner, always, text_reply
from stored import conversation_files, stored_messages
from terminal import Terminal
from test_commands import build

from interpreter.conversation.storage import Conversation, from_json, to_json
from interpreter.errors import CommandError, ConfigError, FileRefused, StorageError, TaskTooLong
from interpreter.messages import Message, Picture
from interpreter.model.context import ContextWindow
from interpreter.model.pictures import LONG_SIDE, attach, dimensions, kind
from interpreter.model.responses_input import responses_input
from interpreter.model.vision import IMAGE_TOKENS
from interpreter.model.wire import wire
from interpreter.resilience.limiter import CHARS_PER_TOKEN, characters
from interpreter.session import Session

Run = Callable[..., subprocess.CompletedProcess[str]]
SERVER = "https://here/v1"


def png(width: int, height: int) -> bytes:
    """A real grey PNG of that size, written by hand (no Pillow needed)."""

    def chunk(name: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + name + data + struct.pack(">I", zlib.crc32(name + data))

    rows = b"".join(b"\x00" + bytes([128]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def chat_parts(request: RecordedRequest) -> list[dict[str, Any]]:
    """Every content part of a Chat Completions request's messages."""
    messages: list[dict[str, Any]] = (request.body or {})["messages"]
    return [part for message in messages if isinstance(message["content"], list) for part in message["content"]]


def sent_bytes(url: str, mime: str = "image/png") -> bytes:
    prefix = f"data:{mime};base64,"
    assert url.startswith(prefix)
    return base64.standard_b64decode(url.removeprefix(prefix))


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    path = tmp_path / "chart.png"
    path.write_bytes(png(40, 20))
    return path


# ---- whole program ------------------------------------------------------------------------------------------------


def test_one_picture_is_one_image_part_on_chat_and_the_conversation_keeps_its_path_and_hash(
    run_cli: Run, server: FakeServer, chart: Path, private_home: Path
) -> None:
    server.enqueue(Reply.text("a grey box"))

    result = run_cli("-c", "what is this?", "-i", "chart.png")

    assert result.returncode == 0, result.stderr
    (request,) = server.requests
    images = [part for part in chat_parts(request) if part["type"] == "image_url"]
    assert len(images) == 1
    assert sent_bytes(images[0]["image_url"]["url"]) == chart.read_bytes()
    assert {"type": "text", "text": f"Attached picture: {chart}"} in chat_parts(request)
    assert f"attached {chart} (" in result.stdout
    (path,) = conversation_files(private_home / "conversations")
    task = stored_messages(path)[0]
    assert task["pictures"] == [{"path": str(chart), "sha256": hashlib.sha256(chart.read_bytes()).hexdigest()}]
    assert "base64" not in path.read_text()


def test_one_picture_is_one_input_image_on_responses(run_cli: Run, server: FakeServer, chart: Path) -> None:
    server.enqueue(Reply.text("a grey box"))

    result = run_cli("-c", "what is this?", "--image", str(chart), "--api", "responses")

    assert result.returncode == 0, result.stderr
    (request,) = server.requests
    assert request.path == "/v1/responses"
    items: list[dict[str, Any]] = (request.body or {})["input"]
    images = [part for item in items for part in item.get("content", []) if part["type"] == "input_image"]
    assert len(images) == 1
    assert sent_bytes(images[0]["image_url"]) == chart.read_bytes()


def test_a_model_that_takes_no_images_is_sent_nothing_one_line_exit_2(
    run_cli: Run, server: FakeServer, chart: Path
) -> None:
    result = run_cli("-c", "what is this?", "-i", "chart.png", "-m", "gpt-3.5-turbo")

    assert result.returncode == 2
    assert result.stderr == (
        "interpreter: gpt-3.5-turbo is not sent pictures, so it cannot see chart.png; nothing was sent: use a model "
        "that takes images (-m gpt-4o), or set images = true if gpt-3.5-turbo does\n"
    )
    assert server.requests == []


def test_percent_image_as_the_task_for_a_model_that_takes_no_images_is_exit_2(
    run_cli: Run, server: FakeServer, chart: Path
) -> None:
    result = run_cli("-c", "%image chart.png", "-m", "gpt-3.5-turbo")

    assert result.returncode == 2  # a setting refuses it, as with -i: the person can fix it, not a failure
    assert "gpt-3.5-turbo is not sent pictures, so it cannot see chart.png" in result.stdout
    assert server.requests == []


def test_a_text_file_named_png_is_refused_by_its_bytes(run_cli: Run, server: FakeServer, tmp_path: Path) -> None:
    (tmp_path / "x.png").write_text("not a picture at all\n")

    result = run_cli("-c", "what is this?", "-i", "x.png")

    assert result.returncode == 2
    assert result.stderr == (
        "interpreter: x.png is not a PNG, JPEG, GIF or WebP picture (by its first bytes): nothing was sent\n"
    )
    assert server.requests == []


@pytest.mark.parametrize(("name", "words"), [("gone.png", "No such file or directory"), (".", "it is a directory")])
def test_a_missing_path_or_a_folder_is_one_line_exit_2(run_cli: Run, server: FakeServer, name: str, words: str) -> None:
    result = run_cli("-c", "what is this?", "-i", name)

    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert words in result.stderr
    assert server.requests == []


def test_a_big_picture_is_scaled_to_2048_px_where_pillow_is_installed(
    run_cli: Run, server: FakeServer, tmp_path: Path
) -> None:
    pytest.importorskip("PIL", reason="Pillow (with matplotlib, a dev dependency) scales the picture")
    (tmp_path / "wide.png").write_bytes(png(3000, 1000))
    server.enqueue(Reply.text("wide"))

    result = run_cli("-c", "what is this?", "-i", "wide.png")

    assert result.returncode == 0, result.stderr
    (image,) = [part for part in chat_parts(server.requests[0]) if part["type"] == "image_url"]
    assert dimensions(sent_bytes(image["image_url"]["url"]), "image/png") == (2048, 683)
    assert "sent as it is" not in result.stdout


def test_without_pillow_a_big_picture_is_sent_as_it_is_with_a_note(
    run_cli: Run, server: FakeServer, tmp_path: Path
) -> None:
    blocked = tmp_path / "no-pillow"
    (blocked / "PIL").mkdir(parents=True)
    (blocked / "PIL" / "__init__.py").write_text("raise ImportError('Pillow is not installed (the test says)')\n")
    (tmp_path / "wide.png").write_bytes(png(3000, 1000))
    server.enqueue(Reply.text("wide"))

    result = run_cli("-c", "what is this?", "-i", "wide.png", env={"PYTHONPATH": str(blocked)})

    assert result.returncode == 0, result.stderr
    (image,) = [part for part in chat_parts(server.requests[0]) if part["type"] == "image_url"]
    assert sent_bytes(image["image_url"]["url"]) == (tmp_path / "wide.png").read_bytes()
    assert (
        "wide.png is 3000 x 1000 px, sent as it is (pip install pillow to have it scaled to 2048 px)" in result.stdout
    )


def test_a_resumed_conversation_whose_picture_is_gone_sends_a_note_in_its_place(
    run_cli: Run, server: FakeServer, chart: Path
) -> None:
    server.enqueue(Reply.text("a grey box"), Reply.text("still a box"))
    assert run_cli("-c", "what is this?", "-i", "chart.png").returncode == 0
    chart.unlink()

    result = run_cli("--resume", "-c", "and now?")

    assert result.returncode == 0, result.stderr
    first_task = (server.requests[1].body or {})["messages"][1]
    assert first_task["content"] == (
        f"what is this?\n\n[The picture {chart} was attached here; it is not sent: the file is gone "
        "(No such file or directory).]"
    )
    assert not any(part["type"] == "image_url" for part in chat_parts(server.requests[1]))


# ---- %image -------------------------------------------------------------------------------------------------------


def test_percent_image_attaches_a_picture_to_the_next_task_only(tmp_path: Path, chart: Path) -> None:
    rig = build(tmp_path)

    def attach_here(path: Path) -> Any:
        attached = attach(path, "gpt-4o")
        rig.session.attach(attached.picture)
        return attached

    rig.context = dataclasses.replace(rig.context, attach=attach_here)

    shown = rig.run(f"%image {chart}")
    rig.model.enqueue(text_reply("a box"), text_reply("no picture"))
    rig.send("what is this?")
    rig.send("and this?")

    assert shown == [f"attached {chart} ({len(chart.read_bytes())} B) to the next task"]
    first, second = (messages[-1] for messages, _ in rig.model.requests)
    assert first.pictures == (Picture(str(chart), hashlib.sha256(chart.read_bytes()).hexdigest()),)
    assert second.pictures == ()


def test_percent_image_without_a_file_says_how(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"^usage: %image FILE"):
        build(tmp_path).run("%image")


# ---- the pieces ---------------------------------------------------------------------------------------------------


def test_each_format_is_told_by_its_bytes_and_its_size_read_from_its_header() -> None:
    pillow = pytest.importorskip("PIL.Image", reason="Pillow writes the JPEG, GIF and WebP examples")
    for form, mime in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")):
        for mode in ("RGB", "RGBA") if form in ("PNG", "WEBP") else ("RGB",):
            out = io.BytesIO()
            pillow.new(mode, (321, 123)).save(out, form, **({"lossless": True} if mode == "RGBA" else {}))
            assert kind(out.getvalue()) == mime
            assert dimensions(out.getvalue(), mime) == (321, 123), (form, mode)
    assert kind(b"%PDF-1.7") is None


def test_a_picture_over_20_mb_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    with big.open("wb") as file:
        file.truncate(20 * 1024 * 1024 + 1)  # sparse: no disk

    with pytest.raises(FileRefused, match=r"over the 21\.0 MB read"):
        attach(big, "gpt-4o")


def test_the_images_setting_lets_an_unknown_model_be_sent_pictures(chart: Path) -> None:
    with pytest.raises(ConfigError, match="is not sent pictures"):
        attach(chart, "my-local-model")
    assert attach(chart, "my-local-model", images=True).size == len(chart.read_bytes())


def test_a_picture_changed_since_it_was_attached_is_not_sent(chart: Path) -> None:
    task = Message("user", "look", pictures=(attach(chart, "gpt-4o").picture,))
    chart.write_bytes(png(41, 20))

    (sent,) = wire([task], SERVER, images=Path("/figures"))

    assert sent["content"] == (
        f"look\n\n[The picture {chart} was attached here; it is not sent: the file has changed since it was attached.]"
    )


def test_a_model_not_sent_pictures_is_told_one_was_attached(chart: Path) -> None:
    task = Message("user", "look", pictures=(attach(chart, "gpt-4o").picture,))

    (chat,) = wire([task], SERVER, images=None)
    _, (item,) = responses_input([task], SERVER, images=None)

    note = f"[The picture {chart} was attached here; it is not sent: this model is not sent pictures.]"
    assert chat["content"] == f"look\n\n{note}"
    assert item["content"] == [{"type": "input_text", "text": "look"}, {"type": "input_text", "text": note}]


def test_a_picture_counts_as_an_images_tokens_when_sent() -> None:
    task = Message("user", "look", pictures=(Picture("/x.png", "0" * 64),))

    assert characters([task], images=True) == len("look") + len("()") + IMAGE_TOKENS * CHARS_PER_TOKEN
    assert characters([task], images=False) == len("look") + len("()")


def test_the_stored_form_keeps_pictures_and_refuses_a_bad_list(tmp_path: Path) -> None:
    conversation = Conversation.new("gpt-4o")
    conversation.messages.append(Message("user", "look", pictures=(Picture("/x.png", "ab" * 32),)))

    stored = to_json(conversation)

    assert from_json(stored, tmp_path).messages == conversation.messages
    broken = stored.replace('"sha256"', '"hash"')
    with pytest.raises(StorageError, match="'pictures' that is not a list of paths with their hashes"):
        from_json(broken, tmp_path)


def test_scaling_keeps_a_jpeg_a_jpeg_and_fits_the_long_side(tmp_path: Path) -> None:
    pillow = pytest.importorskip("PIL.Image", reason="Pillow scales the picture")
    path = tmp_path / "tall.jpg"
    pillow.new("RGB", (1000, 4096)).save(path, "JPEG")
    task = Message("user", "look", pictures=(attach(path, "gpt-4o").picture,))

    (sent,) = wire([task], SERVER, images=Path("/figures"))

    url = sent["content"][2]["image_url"]["url"]
    assert dimensions(sent_bytes(url, "image/jpeg"), "image/jpeg") == (500, LONG_SIDE)


def test_the_cost_cap_counts_a_pictures_tokens_before_the_request(
    run_cli: Run, server: FakeServer, chart: Path
) -> None:
    server.enqueue(Reply.text("fine"))
    cap = "0.0045"  # a task of a few words fits under it; the same task with a picture's ~800 tokens does not
    assert run_cli("-c", "what is this?", "-m", "gpt-4o", "--max-cost", cap).returncode == 0

    result = run_cli("-c", "what is this?", "-i", "chart.png", "-m", "gpt-4o", "--max-cost", cap)

    assert result.returncode == 3
    assert "stopped at --max-cost $0.0045" in result.stdout + result.stderr
    assert len(server.requests) == 1


def test_a_task_too_long_to_send_keeps_its_pictures_for_the_next_one(chart: Path) -> None:
    model = FakeChatModel()
    session = Session(
        model=model,
        runner=FakeRunner(),
        confirm=always(True),
        conversation=Conversation.new("test-model"),
        save=lambda conversation: None,
        system="SYSTEM",
        window=ContextWindow(FakeAdapter()),  # 8,192 tokens
    )
    picture = attach(chart, "gpt-4o").picture
    session.attach(picture)

    with pytest.raises(TaskTooLong):
        list(session.send("x" * 1_000_000))
    model.enqueue(text_reply("a box"))
    list(session.send("what is this?"))

    ((sent, _),) = model.requests
    assert sent[-1].pictures == (picture,)


def test_percent_image_on_a_terminal_sends_the_picture_with_the_next_task(
    interpreter_command: list[str], server: FakeServer, chart: Path
) -> None:
    server.enqueue(Reply.text("A grey box."), Reply.text("Nothing to see."))
    terminal = Terminal(interpreter_command[0], ["--api-base", server.url, "--api-key", "sk-test"], cols=200, env={})
    try:
        terminal.wait_for_prompt()
        terminal.send(f"%image {chart}\r")
        terminal.wait_for(f"attached {chart} (")
        terminal.wait_for_prompt()
        terminal.send("what is this?\r")
        terminal.wait_for("A grey box.")
        terminal.wait_for_prompt()
        terminal.send("and now?\r")
        terminal.wait_for("Nothing to see.")
        terminal.wait_for_prompt()
        terminal.press("d")
        assert terminal.exit_status() == 0
    finally:
        terminal.close()
    first, second = ([p for p in chat_parts(request) if p["type"] == "image_url"] for request in server.requests)
    assert len(first) == 1
    assert len(second) == 1  # the first task keeps its picture in the conversation; the second has none of its own
    assert (server.requests[1].body or {})["messages"][-1] == {"role": "user", "content": "and now?"}
