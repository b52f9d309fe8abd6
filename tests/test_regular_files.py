"""Reading a file the tool was pointed at: regular files only, bounded, checked on the descriptor."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from interpreter.errors import FileRefused
from interpreter.trust.regular_files import read_regular, size_text


def test_a_regular_file_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"hello\n" * 1000)
    assert read_regular(path, limit=6000) == b"hello\n" * 1000


def test_a_file_over_the_limit_is_refused_naming_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b"x" * 2_500_000)
    with pytest.raises(FileRefused, match=r"big.json: it is 2.5 MB, over the 1.0 MB read"):
        read_regular(path, limit=1_000_000)


def test_dev_zero_is_refused_at_once_as_a_device() -> None:
    with pytest.raises(FileRefused, match="/dev/zero: it is a character device, not a regular file"):
        read_regular("/dev/zero", limit=1 << 30)


def test_a_fifo_with_no_writer_is_refused_at_once_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result: list[BaseException] = []

    def read() -> None:
        try:
            read_regular(fifo, limit=100)
        except FileRefused as exc:
            result.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert "a FIFO (named pipe)" in str(result[0])


def test_a_directory_and_a_socket_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FileRefused, match="a directory"):
        read_regular(tmp_path, limit=100)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "sock"))
    with pytest.raises(FileRefused, match="cannot read"):
        read_regular(tmp_path / "sock", limit=100)
    server.close()


def test_a_symlink_is_refused_when_not_followed_and_read_when_followed(tmp_path: Path) -> None:
    target = tmp_path / "holiday.png"
    target.write_bytes(b"picture")
    (tmp_path / "link.png").symlink_to(target)
    with pytest.raises(FileRefused, match="it is a symbolic link, which is not followed here"):
        read_regular(tmp_path / "link.png", limit=100, follow=False)
    assert read_regular(tmp_path / "link.png", limit=100) == b"picture"
    assert target.read_bytes() == b"picture"


def test_a_relative_name_is_read_in_the_folder_given_by_descriptor(tmp_path: Path) -> None:
    (tmp_path / "figure-1.png").write_bytes(b"png")
    folder = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert read_regular("figure-1.png", limit=10, follow=False, dir_fd=folder) == b"png"
    finally:
        os.close(folder)


def test_a_missing_file_is_one_line_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(FileRefused, match=r"cannot read .*absent: No such file or directory"):
        read_regular(tmp_path / "absent", limit=10)


@pytest.mark.parametrize(
    ("size", "text"), [(812, "812 B"), (1_234, "1.2 kB"), (3_400_000, "3.4 MB"), (5_000_000_000, "5.0 GB")]
)
def test_sizes_read_the_way_people_read_them(size: int, text: str) -> None:
    assert size_text(size) == text
