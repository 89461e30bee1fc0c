"""Writing ``[CLUSTER] HOST`` and ``[IAM_ROLE] ARN`` back into dwh.cfg.

Why configupdater: ``ConfigParser.write`` drops every comment, and dwh.cfg is a
hand-edited file whose notes, key order and spelling should survive. The file
is replaced atomically (a crash leaves the old one) with its mode and owner, and
a symlink's target is replaced, not the link.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from configupdater import ConfigUpdater, Option, Section, Space

from .config import ClusterError


def _uses_spaces(updater: ConfigUpdater) -> bool:
    """Whether the file writes ``KEY = value`` (its first key decides; default yes)."""
    for section in updater.iter_sections():
        for block in section.iter_blocks():
            if isinstance(block, Option) and block.lines:
                line = block.lines[0]
                before = line.split("=", 1)[0] if "=" in line else line.split(":", 1)[0]
                return before != before.rstrip()
    return True


def _set(section: Section, key: str, value: str) -> None:
    """Set ``key``: in place when present, else after the section's last key."""
    if section.has_option(key):
        section[key] = value
        return
    options = [block for block in section.iter_blocks() if isinstance(block, Option)]
    blocks = list(section.iter_blocks())
    if options:
        options[-1].add_after.option(key, value)
    elif blocks:
        blocks[0].add_before.option(key, value)
    else:
        section[key] = value


def edit_cfg_text(text: str, updates: Mapping[tuple[str, str], str]) -> str:
    """``text`` with ``[section] KEY = value`` set for each update, nothing else changed.

    Missing sections are added at the end; the file's line endings and its style
    of separator (``KEY=value`` or ``KEY = value``) are kept.
    """
    newline = "\r\n" if "\r\n" in text else "\n"
    probe = ConfigUpdater()
    probe.read_string(text.replace("\r\n", "\n"))
    updater = ConfigUpdater(space_around_delimiters=_uses_spaces(probe))
    updater.read_string(text.replace("\r\n", "\n"))
    for (name, key), value in updates.items():
        if not updater.has_section(name):
            sections = list(updater.iter_sections())
            if sections:  # a blank line before the new section, unless there is one
                blocks = list(sections[-1].iter_blocks())
                if not (blocks and isinstance(blocks[-1], Space)):
                    sections[-1].add_after.space(1)
            updater.add_section(name)
        _set(updater[name], key.upper(), value)
    result = str(updater)
    if result and not result.endswith("\n"):
        result += "\n"
    return result.replace("\n", newline)


def update_cfg(path: str | os.PathLike[str], updates: Mapping[tuple[str, str], str]) -> None:
    """Write values into dwh.cfg atomically, keeping comments, other keys and the file mode."""
    for value in updates.values():
        if "\n" in value or "\r" in value:
            raise ValueError("dwh.cfg values must be single lines")
    real = Path(os.path.realpath(path))  # replace a symlink's target, not the link
    original = real.stat()
    try:
        text = edit_cfg_text(real.read_bytes().decode("utf-8"), updates)
    except configparser.Error as exc:
        raise ClusterError(f"{real}: cannot update: {str(exc).splitlines()[0]}") from None

    check = configparser.ConfigParser(interpolation=None)
    check.optionxform = str.upper  # type: ignore[assignment,method-assign]
    try:
        check.read_string(text)
    except configparser.Error as exc:
        raise ClusterError(f"{real}: cannot update: {str(exc).splitlines()[0]}") from None
    for (section, key), value in updates.items():
        if check.get(section, key, fallback=None) != value:
            raise ClusterError(f"{real}: could not update [{section}] {key} safely; set it by "
                               f"hand to {value}")

    fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, stat.S_IMODE(original.st_mode))
        if hasattr(os, "chown") and (original.st_uid, original.st_gid) != (os.getuid(),
                                                                           os.getgid()):
            # Not allowed to give the file away? The mode still holds.
            with contextlib.suppress(OSError):
                os.chown(tmp, original.st_uid, original.st_gid)
        os.replace(tmp, real)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
