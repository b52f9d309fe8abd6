"""OutputCap: what the screen is shown as output arrives, and what the model gets at the end."""

from __future__ import annotations

from interpreter.execution.output import OutputCap


def test_short_output_is_all_shown_and_given_to_the_model() -> None:
    cap = OutputCap(30)
    assert cap.feed(b"hello\n") == "hello\n"
    assert cap.finish() == ""
    assert (cap.output, cap.tail, cap.cut) == ("hello\n", "", 0)


def test_long_output_keeps_a_head_and_a_tail_and_counts_the_cut() -> None:
    cap = OutputCap(30)
    shown = "".join(cap.feed(bytes([byte]) * 10) for byte in b"abcdefghij")
    assert shown == "a" * 10 + "b" * 10
    assert cap.tail == "j" * 10
    assert cap.cut == 70
    assert cap.output == "a" * 10 + "b" * 10 + "\n[... 70 characters cut ...]\n" + "j" * 10


def test_output_just_past_the_head_is_kept_whole_in_the_tail() -> None:
    cap = OutputCap(30)
    assert cap.feed(b"x" * 25) == "x" * 20
    assert (cap.tail, cap.cut) == ("xxxxx", 0)
    assert cap.output == "x" * 25


def test_a_multibyte_character_split_between_reads_is_decoded_whole() -> None:
    cap = OutputCap(100)
    data = "naïve €".encode()
    shown = "".join(cap.feed(data[i : i + 1]) for i in range(len(data))) + cap.finish()
    assert shown == "naïve €"


def test_invalid_bytes_become_replacement_characters() -> None:
    cap = OutputCap(100)
    assert cap.feed(b"\xff ok ") + cap.feed(b"\xe2\x82") + cap.finish() == "\ufffd ok \ufffd"


def test_a_note_starts_on_its_own_line() -> None:
    cap = OutputCap(100)
    cap.feed(b"partial")
    assert cap.note("timed out") == "\n[timed out]\n"
    assert cap.note("again") == "[again]\n"


def test_progress_bars_are_collapsed_for_the_model_only() -> None:
    cap = OutputCap(100)
    assert cap.feed(b"10%\r50%\r100%\r\ndone\n") == "10%\r50%\r100%\r\ndone\n"
    assert cap.output == "100%\r\ndone\n"


def test_one_200_kb_line_keeps_a_head_and_a_tail_and_names_the_cut() -> None:
    cap = OutputCap(12_000)
    shown = cap.feed(b"<" + b"x" * 199_998 + b">\n") + cap.finish()
    assert shown == "<" + "x" * 7_999
    assert cap.cut == 188_001
    assert cap.output == "<" + "x" * 7_999 + "\n[... 188,001 characters cut ...]\n" + "x" * 3_998 + ">\n"


def test_a_long_line_redrawn_by_carriage_returns_keeps_its_last_frame_only() -> None:
    cap = OutputCap(1_000_000)
    cap.feed(b"a" * 200_000 + b"\r" + b"b" * 100_000 + b"\rdone\r\n" + b"c" * 200_000)
    assert cap.output == "done\r\n" + "c" * 200_000
