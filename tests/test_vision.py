"""The model looks at its figures: a model that takes images is sent each PNG a cell drew (by its path, read when the
request is formed), others are not, `images` decides, and a server that refuses pictures is asked again without."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_server import Answer, FakeServer, Fault, RecordedRequest, Reply, openai_error
from stored import conversation_files, stored_messages

from interpreter.conversation.storage import Conversation, from_json, to_json
from interpreter.messages import Message, ToolCall
from interpreter.model.context import ContextWindow
from interpreter.model.vision import IMAGE_TOKENS, MAX_IMAGE_BYTES, takes_images
from interpreter.model.wire import FIGURES_HEADING, wire
from interpreter.resilience.bodies import refuses_images

Run = Callable[..., subprocess.CompletedProcess[str]]
PLOT = "import matplotlib.pyplot as plt\nplt.figure(figsize=(2, 1), dpi=50)\nplt.plot([1, 2])\nplt.show()"
DATA_URL = "data:image/png;base64,"
# OpenAI's answer to an image part sent to a model that takes none (vllm-project/vllm#11629 quotes it whole).
IMAGES_REFUSED = Fault.status(
    400,
    openai_error(
        "Invalid content type. image_url is only supported by certain models.",
        "invalid_request_error",
        None,
        "messages.[3].content.[2].type",
    ),
)
HERE = "https://here/v1"
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (100).to_bytes(4, "big") + (50).to_bytes(4, "big")


@pytest.fixture(autouse=True)
def cells_on_this_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python cells run where matplotlib is installed: the Python of these tests, first on PATH."""
    pytest.importorskip("matplotlib", reason="matplotlib (a dev dependency) draws the figures")
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.delenv("CONDA_PREFIX", raising=False)


def figures_of(home: Path) -> list[Path]:
    return sorted((home / "outputs").glob("*/figure-*.png"))


def images_in(request: RecordedRequest) -> list[bytes]:
    """The pictures a request carried, decoded from their data URLs."""
    messages: list[dict[str, Any]] = (request.body or {}).get("messages", [])
    parts = [part for message in messages if isinstance(message["content"], list) for part in message["content"]]
    urls = [part["image_url"]["url"] for part in parts if part["type"] == "image_url"]
    assert all(url.startswith(DATA_URL) for url in urls)
    return [base64.standard_b64decode(url.removeprefix(DATA_URL)) for url in urls]


def settings_file(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(text)


# ---- whole program ----------------------------------------------------------------------------------------------


def test_a_model_that_takes_images_is_sent_the_png_and_the_conversation_keeps_only_its_path(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    server.enqueue(Reply.tool_call("python", PLOT), Reply.text("a rising line"))

    result = run_cli("-c", "plot", "-y", "--model", "gpt-4o-mini")

    assert result.returncode == 0, result.stderr
    (saved,) = figures_of(private_home)
    first, after_the_cell = server.requests
    assert images_in(first) == []
    assert images_in(after_the_cell) == [saved.read_bytes()]
    *_, tool, shown = after_the_cell.body["messages"] if after_the_cell.body else []
    assert tool["role"] == "tool" and f"[figure 1: {saved}]" in tool["content"]  # the tool message stays text
    assert shown["role"] == "user" and shown["content"][:2] == [
        {"type": "text", "text": FIGURES_HEADING},
        {"type": "text", "text": str(saved)},
    ]
    (stored,) = conversation_files(private_home / "conversations")
    kept = stored_messages(stored)
    assert [message.get("figures") for message in kept if message["role"] == "tool"] == [[str(saved)]]
    assert DATA_URL not in stored.read_text() and len(stored.read_text()) < saved.stat().st_size


@pytest.mark.parametrize(
    ("args", "settings"),
    [
        (("--model", "llama3.1"), ""),  # not known to take images
        (("--model", "gpt-4o"), "images = false\n"),
        (("--model", "gpt-4o", "--profile", "text"), "[profiles.text]\nimages = false\n"),
    ],
    ids=["unknown-model", "images-false", "images-false-in-the-profile"],
)
def test_a_model_not_known_to_take_images_or_images_false_gets_the_path_only(
    run_cli: Run, server: FakeServer, private_home: Path, args: tuple[str, ...], settings: str
) -> None:
    settings_file(private_home, settings)
    server.enqueue(Reply.tool_call("python", PLOT), Reply.text("done"))

    result = run_cli("-c", "plot", "-y", *args)

    assert result.returncode == 0, result.stderr
    (saved,) = figures_of(private_home)
    assert [images_in(request) for request in server.requests] == [[], []]
    assert f"[figure 1: {saved}]" in server.requests[-1].body["messages"][-1]["content"]  # type: ignore[index]
    # Kept all the same: resumed with a model that takes images (or `images = true`), the figure is sent.
    (stored,) = conversation_files(private_home / "conversations")
    assert stored_messages(stored)[-2]["figures"] == [str(saved)]


def test_images_true_sends_them_to_a_model_the_table_does_not_know(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    settings_file(private_home, "images = true\n")
    server.enqueue(Reply.tool_call("python", PLOT), Reply.text("done"))

    result = run_cli("-c", "plot", "-y", "--model", "my-own-vision-model")

    assert result.returncode == 0, result.stderr
    (saved,) = figures_of(private_home)
    assert images_in(server.requests[-1]) == [saved.read_bytes()]


def refusing_images(replies: list[Answer]) -> Callable[[RecordedRequest], Answer]:
    """A server that answers OpenAI's 400 to any request carrying an image part, and `replies` in turn to others."""

    def respond(request: RecordedRequest) -> Answer:
        return IMAGES_REFUSED if images_in(request) else replies.pop(0)

    return respond


def test_a_server_refusing_image_parts_is_asked_again_without_them_once_and_never_sent_them_again(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    second_plot = PLOT.replace("[1, 2]", "[2, 1]")
    replies: list[Answer] = [Reply.tool_call("python", PLOT), Reply.tool_call("python", second_plot), Reply.text("ok")]
    server.responder = refusing_images(replies)

    result = run_cli("-c", "plot twice", "-y", "--verbose")

    assert result.returncode == 0, result.stdout + result.stderr
    assert len(figures_of(private_home)) == 2
    carried = [bool(images_in(request)) for request in server.requests]
    assert carried == [False, True, False, False]  # refused once, asked again without, and none after the 2nd figure
    refused, again = server.requests[1].body, server.requests[2].body
    assert refused is not None and again is not None
    assert again["messages"] == [m for m in refused["messages"] if not isinstance(m["content"], list)]
    assert result.stderr.count("the server refused image parts") == 1  # logged, shown with --verbose


# ---- the pieces -------------------------------------------------------------------------------------------------


@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "figure-1.png"
    path.write_bytes(PNG_HEADER + bytes(100))
    return path


def answered(*figures: str) -> list[Message]:
    """A task, a reply with one call per figure, and the tool messages answering them, each naming its figure."""
    calls = tuple(ToolCall(f"call-{n}", "execute", "{}") for n in range(len(figures)))
    tools = [
        Message("tool", f"[figure: {path}]", tool_call_id=call.id, figures=(path,))
        for call, path in zip(calls, figures, strict=True)
    ]
    return [Message("user", "plot"), Message("assistant", "", calls), *tools]


def test_the_pictures_of_several_calls_follow_the_last_tool_message_in_one_user_message(
    png: Path, tmp_path: Path
) -> None:
    other = tmp_path / "figure-2.png"
    other.write_bytes(PNG_HEADER + bytes(7))

    sent = wire([*answered(str(png), str(other)), Message("assistant", "done")], HERE, images=tmp_path)

    assert [message["role"] for message in sent] == ["user", "assistant", "tool", "tool", "user", "assistant"]
    parts = sent[4]["content"]
    assert [part["text"] for part in parts if part["type"] == "text"] == [FIGURES_HEADING, str(png), str(other)]
    pictures = [part["image_url"]["url"].removeprefix(DATA_URL) for part in parts if part["type"] == "image_url"]
    assert [base64.standard_b64decode(data) for data in pictures] == [png.read_bytes(), other.read_bytes()]


def test_a_figure_gone_or_too_large_is_sent_as_its_path_only(png: Path, tmp_path: Path) -> None:
    big = tmp_path / "figure-2.png"
    big.write_bytes(PNG_HEADER + bytes(MAX_IMAGE_BYTES))
    gone = str(tmp_path / "figure-3.png")

    assert wire(answered(gone, str(big)), HERE, images=tmp_path) == wire(answered(gone, str(big)), HERE)
    assert len(wire(answered(gone, str(png)), HERE, images=tmp_path)) == 5  # the one still there is sent


def test_a_png_outside_the_figures_folder_is_never_sent(png: Path, tmp_path: Path) -> None:
    # A conversation file (%load, --resume of a file someone gave you) may name any picture on the disk.
    kept = tmp_path / "outputs"
    kept.mkdir()
    inside = kept / "figure-1.png"
    inside.write_bytes(png.read_bytes())
    escape = kept / ".." / png.name  # beneath it by name only

    sent = wire(answered(str(png), str(escape), str(inside)), HERE, images=kept)

    pictures = [part for part in sent[-1]["content"] if part["type"] == "image_url"]
    assert len(pictures) == 1 and [part["text"] for part in sent[-1]["content"][1::2]] == [str(inside)]


def test_code_output_sent_as_a_user_message_carries_its_pictures_itself(png: Path, tmp_path: Path) -> None:
    output = Message("user", f"Output of block 1 (python):\n[figure 1: {png}]", kind="output", figures=(str(png),))

    (sent,) = wire([output], HERE, images=tmp_path)

    assert sent["content"][0] == {"type": "text", "text": output.content}
    assert sent["content"][-1]["image_url"]["url"] == DATA_URL + base64.standard_b64encode(png.read_bytes()).decode()


def test_a_picture_counts_as_a_fixed_number_of_tokens_when_it_is_sent(png: Path) -> None:
    class Chat:
        model = "gpt-4o"

    chat = Chat()
    window = ContextWindow(chat)
    with_figure = [Message("tool", "[figure 1]", tool_call_id="c", figures=(str(png),))]
    without = [Message("tool", "[figure 1]", tool_call_id="c")]

    assert window.estimate(with_figure) - window.estimate(without) == IMAGE_TOKENS
    chat.model = "llama3.1"  # sent no pictures: they cost nothing
    assert window.estimate(with_figure) == window.estimate(without)
    assert ContextWindow(chat, images=True).estimate(with_figure) - window.estimate(without) == IMAGE_TOKENS


def test_the_stored_conversation_keeps_the_figure_paths(png: Path) -> None:
    conversation = Conversation("c", "2026-01-01T00:00:00+00:00", "gpt-4o", answered(str(png)))

    assert from_json(to_json(conversation), png).messages == conversation.messages
    assert from_json(to_json(conversation), png).messages[-1].figures == (str(png),)


@pytest.mark.parametrize(
    ("model", "sees"),
    [
        ("gpt-4o-mini", True),
        ("openai/gpt-4.1", True),
        ("gpt-5-nano", True),
        ("o4-mini", True),
        ("o3-mini", False),
        ("claude-sonnet-4-5", True),
        ("gemini-2.5-flash", True),
        ("llava:13b", True),
        ("qwen2.5-vl-7b-instruct", True),
        ("gpt-3.5-turbo", False),
        ("llama3.1", False),
        ("deepseek-chat", False),
    ],
)
def test_models_known_to_take_images(model: str, sees: bool) -> None:
    assert takes_images(model) is sees
    assert takes_images(model, setting=False) is False and takes_images(model, setting=True) is True


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, IMAGES_REFUSED.body),
        (
            400,
            {
                "message": "Failed to deserialize the JSON body into the target type: messages[3]: unknown variant "
                "`image_url`, expected `text` at line 1 column 9",
                "type": "invalid_request_error",
            },
        ),  # DeepSeek (esengine/DeepSeek-Reasonix#7859)
        (500, {"code": 500, "message": "image input is not supported by this server", "type": "server_error"}),
    ],
    ids=["openai", "deepseek", "llama.cpp"],
)
def test_refusals_of_image_parts_are_told(status: int, body: object) -> None:
    assert refuses_images(status, body)


def test_other_failures_are_not_refusals_of_image_parts() -> None:
    assert not refuses_images(400, openai_error("maximum context length is 8192 tokens", "invalid_request_error"))
    assert not refuses_images(429, openai_error("image rate limit reached", "rate_limit"))
