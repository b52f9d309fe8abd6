"""Hiding the key from other processes: the argument and environment blocks /proc shows, and the dumpable flag."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from interpreter.trust.hardening import secret_values, secret_variables, url_secrets

KEY = "sk-hardening-0123456789abcdef"


def test_the_value_of_a_secret_option_is_found_in_either_spelling() -> None:
    arguments = b"python\0/bin/interpreter\0--api-key\0sk-abc\0-c\0task\0--api-key=sk-xyz9\0"
    found = list(secret_values(arguments, ["--api-key"]))
    assert [arguments[offset : offset + length] for offset, length in found] == [b"sk-abc", b"sk-xyz9"]


@pytest.mark.parametrize(
    "arguments", [b"interpreter\0-c\0task\0", b"interpreter\0--api-key\0", b"interpreter\0--api-key=\0-c\0x\0"]
)
def test_no_secret_option_no_value(arguments: bytes) -> None:
    assert list(secret_values(arguments, ["--api-key"])) == []


def test_only_the_credentials_of_a_url_option_are_found_in_either_spelling() -> None:
    arguments = (
        b"interpreter\0--api-base\0http://ada:PW@h/v1?api-version=1&api-key=K\0--rate-limit-store=redis://:R@h/0\0"
    )
    found = [
        arguments[offset : offset + length]
        for offset, length in url_secrets(arguments, ["--api-base", "--rate-limit-store"])
    ]
    assert found == [b"ada:PW", b"K", b":R"]


def test_secret_variables_are_found_by_name_and_others_left_alone() -> None:
    environment = b"PATH=/bin\0OPENAI_API_KEY=sk-1\0github_token=gh\0EMPTY_SECRET=\0LANG=C.UTF-8\0"
    found = [
        (name, value, environment[offset : offset + len(value)])
        for name, value, offset in secret_variables(environment)
    ]
    assert found == [(b"OPENAI_API_KEY", b"sk-1", b"sk-1"), (b"github_token", b"gh", b"gh")]


# The program below runs in a process of its own: harden() changes the process it runs in for good.
PROBE = """
import ctypes, json, subprocess, sys
from interpreter.trust.hardening import harden
harden(secret_options=["--api-key"])
libc = ctypes.CDLL(None)
libc.getenv.restype = ctypes.c_char_p
def proc(name):
    with open(f"/proc/self/{name}", "rb") as file:
        return file.read().decode().replace("\\0", " ")
child = subprocess.run(["printenv", "OPENAI_API_KEY", "FOO_TOKEN"], capture_output=True, text=True).stdout.split()
print(json.dumps({
    "dumpable": libc.prctl(3, 0, 0, 0, 0),
    "cmdline": proc("cmdline"),
    "environ": proc("environ"),
    "getenv": libc.getenv(b"OPENAI_API_KEY").decode(),
    "child": child,
    "argv": sys.argv[1:],
}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only: elsewhere harden() does nothing")
def test_harden_masks_the_key_in_proc_keeps_it_for_the_program_and_turns_dumping_off() -> None:
    env = {**os.environ, "OPENAI_API_KEY": KEY, "FOO_TOKEN": "foo-value", "PLAIN": "visible"}
    command = [sys.executable, "-c", PROBE, "--api-key", KEY]

    seen = json.loads(subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout)

    assert seen["dumpable"] == 0  # what prctl(PR_GET_DUMPABLE) says; the kernel's refusals follow from it
    assert KEY not in seen["cmdline"] and f"--api-key {'*' * len(KEY)}" in seen["cmdline"]
    assert KEY not in seen["environ"] and "foo-value" not in seen["environ"]
    assert f"OPENAI_API_KEY={'*' * len(KEY)}" in seen["environ"] and "PLAIN=visible" in seen["environ"]
    assert seen["getenv"] == KEY  # the C library's copy, and children, still get the real values
    assert seen["child"] == [KEY, "foo-value"]
    assert seen["argv"] == ["--api-key", KEY]  # Python's own copy of the arguments is untouched
