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
