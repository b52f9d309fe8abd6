"""The execute tool and fenced code blocks: reading what the model wrote."""

from __future__ import annotations

import json

import pytest

from interpreter import fences, tool
from interpreter.messages import CodeCell, CodeDraft, ToolCall, ToolCallDraft


def test_a_well_formed_call_becomes_a_cell() -> None:
    call = ToolCall("c", "execute", '{"language": "python", "code": "print(1)"}')
    assert tool.parse(call) == CodeCell("python", "print(1)")


@pytest.mark.parametrize(
    ("name", "arguments", "problem"),
    [
        ("execute", '{"language": "python", "code": ', "not valid JSON"),
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


# ---- a call still being written -------------------------------------------------------------------------------

CODE = 'import os\nprint("tab\\there", os.sep)  # é \\u2603 ✓\n'


@pytest.mark.parametrize(
    "arguments",
    [
        json.dumps({"language": "python", "code": CODE}),
        json.dumps({"code": CODE, "language": "python"}),
        json.dumps({"language": "python", "code": CODE}, ensure_ascii=False, indent=2),
    ],
    ids=["language-first", "code-first", "pretty-unicode"],
)
def test_every_prefix_of_a_call_drafts_a_prefix_of_its_code(arguments: str) -> None:
    drafts = [tool.draft(ToolCallDraft(0, "execute", arguments[:end])) for end in range(len(arguments) + 1)]
    codes = [found.code for found in drafts if found is not None]
    assert codes and all(CODE.startswith(code) for code in codes)
    assert drafts[-1] == CodeDraft("python", CODE)
    assert len(set(codes)) > 10  # it grew as the arguments came


def test_no_draft_before_the_code_begins_nor_for_another_tool() -> None:
    assert tool.draft(ToolCallDraft(0, "execute", '{"language": "pyth')) is None
    assert tool.draft(ToolCallDraft(0, "", '{"code": "x = ')) == CodeDraft("", "x = ")  # the name may come late
    assert tool.draft(ToolCallDraft(0, "search", '{"code": "x"}')) is None
