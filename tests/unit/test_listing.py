"""Listing a local source never passes over a folder or file without a word: linked folders
are followed once, and what can't be read stops the scan naming it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sparkify_dw.errors import SourceError
from sparkify_dw.sources import scan_files


def write(path: Path, text: str = '{"a": 1}\n') -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def listed(root: Path) -> list[str]:
    return [Path(p).relative_to(root).as_posix() for p, _, _ in scan_files(str(root))]


def test_a_linked_folder_is_followed(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    write(outside / "2018-11-02-events.json")
    root = tmp_path / "log_data"
    write(root / "2018" / "11" / "2018-11-01-events.json")
    (root / "2018" / "12").symlink_to(outside, target_is_directory=True)
    assert listed(root) == ["2018/11/2018-11-01-events.json", "2018/12/2018-11-02-events.json"]


def test_a_loop_of_links_ends_and_each_real_file_is_listed_once(tmp_path: Path) -> None:
    root = tmp_path / "log_data"
    write(root / "a" / "x.json")
    (root / "a" / "back").symlink_to(root, target_is_directory=True)  # a loop
    (root / "b").symlink_to(root / "a", target_is_directory=True)  # the same folder again
    (root / "y.json").symlink_to(root / "a" / "x.json")  # the same file again
    assert listed(root) == ["a/x.json"]


def test_an_unreadable_folder_stops_the_scan_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "log_data"
    write(root / "a" / "x.json")
    write(root / "locked" / "y.json")
    real_scandir = os.scandir

    def scandir(path: str) -> object:  # what a folder without read permission does
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(SourceError) as info:
        scan_files(str(root), "log_data")
    assert str(info.value) == (
        f"log_data: {root}: {root / 'locked'}: cannot list this folder (Permission denied)"
    )


def test_a_fifo_named_json_stops_the_scan_naming_it(tmp_path: Path) -> None:
    root = tmp_path / "log_data"
    write(root / "x.json")
    os.mkfifo(root / "pipe.json")
    with pytest.raises(SourceError) as info:
        scan_files(str(root), "log_data")
    assert str(info.value) == (
        f"log_data: {root}: {root / 'pipe.json'}: not a regular file (a FIFO, socket or device)"
    )


@pytest.mark.parametrize("kind", ["dangling", "loop"])
def test_a_broken_link_stops_the_scan_naming_it(tmp_path: Path, kind: str) -> None:
    root = tmp_path / "log_data"
    write(root / "x.json")
    link = root / "y.json"
    if kind == "dangling":
        link.symlink_to(root / "gone.json")
    else:
        link.symlink_to(link)
    with pytest.raises(SourceError) as info:
        scan_files(str(root), "log_data")
    message = str(info.value)
    assert message.startswith(f"log_data: {root}: {link}: cannot read it (")
    assert "\n" not in message and "Errno" not in message
