"""The execute tool and fenced code blocks: reading what the model wrote."""

from __future__ import annotations

import json

import pytest
from fake_server import FakeServer, Fault, Reply
from fakes import FakeClock

from interpreter.messages import CodeCell, CodeDraft, Message, ToolCall, ToolCallDraft
from interpreter.model import fences, tool
from interpreter.model.assembly import REPLY_CAP
from interpreter.model.llm import OpenAIChatModel
from interpreter.resilience.model import ResilientModel


def test_a_well_formed_call_becomes_a_cell() -> None:
    call = ToolCall("c", "execute", '{"language": "python", "code": "print(1)"}')
    assert tool.parse(call) == CodeCell("python", "print(1)")


@pytest.mark.parametrize(
    ("name", "arguments", "problem"),
    [
        ("execute", '{"language": "python", "code": ', "not valid JSON"),
        ("execute", "[" * 100_000 + "]" * 100_000, r"not valid JSON \(nested too deeply\); call execute again"),
        ("execute", "[1, 2]", "must be a JSON object"),
        ("execute", '{"language": "python"}', "needs two strings"),
        ("run_code", '{"language": "python", "code": "1"}', "no tool named 'run_code'"),
    ],
)
def test_bad_calls_explain_themselves_to_the_model(name: str, arguments: str, problem: str) -> None:
    with pytest.raises(tool.BadCall, match=problem):
        tool.parse(ToolCall("c", name, arguments))


def test_the_schema_offers_exactly_execute_with_the_languages_here() -> None:
    schema = tool.schema(["python", "shell"])
    assert schema["function"]["name"] == "execute"
    assert schema["function"]["parameters"]["required"] == ["language", "code"]
    assert "python, shell" in schema["function"]["parameters"]["properties"]["language"]["description"]


def test_fenced_blocks_tagged_with_a_language_are_code_the_rest_is_prose() -> None:
    text = (
        "Plan:\n```python\nx = 1\nprint(x)\n```\n"
        "```\nuntagged\n```\n```text\nexample\n```\n"
        "````bash\necho '```'\n````\n"
    )
    cells = fences.code_cells(text, lambda name: name in {"python", "bash"})
    assert cells == [CodeCell("python", "x = 1\nprint(x)"), CodeCell("bash", "echo '```'")]


def test_an_unclosed_fence_is_not_run() -> None:
    assert fences.code_cells("```python\nprint(1)\n", lambda name: True) == []


def test_a_reply_at_the_cap_of_unclosed_fences_then_one_block_is_read_whole() -> None:
    # A regex retried from each of these 170,000 unclosed fences took about an hour (quadratic); this finishes at
    # all within the test's timeout only when reading is linear.
    text = "```python\nx\n" * (REPLY_CAP // 12) + "~~~bash\necho done\n~~~\n"
    assert fences.code_cells(text, lambda name: True) == [CodeCell("bash", "echo done")]


def test_a_longer_fence_is_closed_only_by_the_same_fence() -> None:
    text = "~~~~python\nprint(1)\n~~~\nprint(2)\n~~~~\n"
    assert fences.code_cells(text, lambda name: True) == [CodeCell("python", "print(1)\n~~~\nprint(2)")]


# ---- a call still being written -------------------------------------------------------------------------------

CODE = 'import os\nprint("tab\\there", os.sep)  # é \\u2603 ✓ 😀\n'


def drafted(arguments: str, piece: int, name: str = "execute") -> list[CodeDraft | None]:
    """The drafts of a call whose arguments arrive `piece` characters at a time."""
    drafts = tool.Drafts()
    pieces = [arguments[start : start + piece] for start in range(0, len(arguments), piece)]
    return [drafts.feed(ToolCallDraft(0, name, fragment)) for fragment in pieces]


@pytest.mark.parametrize("piece", [1, 2, 3, 7])
@pytest.mark.parametrize(
    "arguments",
    [
        json.dumps({"language": "python", "code": CODE}),
        json.dumps({"code": CODE, "language": "python"}),
        json.dumps({"language": "python", "code": CODE}, ensure_ascii=False, indent=2),
    ],
    ids=["language-first", "code-first", "pretty-unicode"],
)
def test_a_call_streamed_in_pieces_drafts_ever_more_of_its_code(arguments: str, piece: int) -> None:
    drafts = drafted(arguments, piece)
    codes = [found.code for found in drafts if found is not None]
    assert codes and all(CODE.startswith(code) for code in codes)
    assert drafts[-1] == CodeDraft("python", CODE)
    assert len(set(codes)) > 5  # it grew as the arguments came


def test_escapes_and_surrogate_pairs_cut_anywhere_decode_whole() -> None:
    arguments = json.dumps({"language": "python", "code": CODE})  # the emoji travels as \ud83d\ude00
    for cut in range(1, len(arguments)):
        drafts = tool.Drafts()
        drafts.feed(ToolCallDraft(0, "execute", arguments[:cut]))
        assert drafts.feed(ToolCallDraft(0, "execute", arguments[cut:])) == CodeDraft("python", CODE), cut


def test_no_draft_before_the_code_begins_nor_for_another_tool() -> None:
    assert drafted('{"language": "pyth', 4)[-1] is None
    assert drafted('{"code": "x = ', 4, name="")[-1] == CodeDraft("", "x = ")  # the name may come late
    assert drafted('{"code": "x"}', 4, name="search")[-1] is None


def test_only_the_arguments_own_fields_are_drafted() -> None:
    arguments = '{"note": "\\"code\\": \\"no\\"", "options": {"code": "nor this"}, "code": "yes", "language": "sh"}'
    assert drafted(arguments, 5)[-1] == CodeDraft("sh", "yes")


def test_each_call_of_a_reply_has_its_own_draft() -> None:
    drafts = tool.Drafts()
    drafts.feed(ToolCallDraft(0, "execute", '{"code": "first'))
    assert drafts.feed(ToolCallDraft(1, "execute", '{"code": "second')) == CodeDraft("", "second")
    assert drafts.feed(ToolCallDraft(0, "execute", ' call"}')) == CodeDraft("", "first call")


def test_a_reply_retried_after_its_stream_broke_drafts_its_call_afresh(server: FakeServer) -> None:
    code = "print('written twice')\n" * 3
    server.enqueue(Fault.error_event(Reply.tool_call("python", code), after=8), Reply.tool_call("python", code))
    clock = FakeClock()
    inner = OpenAIChatModel(model="gpt-4o", api_base=server.url, api_key="x")
    model = ResilientModel(inner, clock=clock, sleep=clock.sleep, random=lambda: 0.5)
    drafts = tool.Drafts()

    items = list(model.stream([Message("user", "hi")], []))

    shown = [drafts.feed(item) for item in items if isinstance(item, ToolCallDraft)]
    assert len(server.requests) == 2
    assert shown[-1] == CodeDraft("python", code)


def test_a_lone_surrogate_or_a_bad_escape_shows_without_breaking_the_draft() -> None:
    assert drafted('{"code": "a\\ud83d b\\x c"}', 3)[-1] == CodeDraft("", "a\N{REPLACEMENT CHARACTER} b\\x c")


def test_work_per_fragment_stays_bounded_as_the_call_grows() -> None:
    decoded: list[int] = []

    def counting(raw: str) -> str:
        decoded.append(len(raw))
        return str(json.loads(f'"{raw}"'))

    code = "".join(f'print("line {number}\\t\\"ok\\" é")\n' for number in range(20_000))  # ~500 KB
    arguments = json.dumps({"language": "python", "code": code})
    drafts = tool.Drafts(decode=counting)
    last = None
    for start in range(0, len(arguments), 8):
        last = drafts.feed(ToolCallDraft(0, "execute", arguments[start : start + 8]))
        assert last is None or len(last.code) <= tool.DRAFT_TAIL
    assert max(decoded) <= 8 + 12  # a fragment, and an escape the one before cut short
    assert sum(decoded) <= len(arguments)  # every character decoded once
    assert last is not None and code.endswith(last.code) and len(last.code) == tool.DRAFT_TAIL
