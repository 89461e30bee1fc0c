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
from collections.abc import Collection, Mapping
from pathlib import Path

from configupdater import ConfigUpdater, Option, Section, Space

from sparkify_dw.errors import ClusterError


def _style(option: Option) -> tuple[str, bool]:
    """An option's delimiter as written (``=`` or ``:``) and whether spaces surround it."""
    line = option.lines[0] if option.lines else f"{option.raw_key}="
    at = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=len(line))
    delimiter = line[at : at + 1] or "="
    return delimiter, line[:at] != line[:at].rstrip()


def _file_style(updater: ConfigUpdater, keys: Collection[tuple[str, str]]) -> tuple[str, bool]:
    """How new keys are written: like the first key not being set, else ``KEY=value``."""
    for section in updater.iter_sections():
        for block in section.iter_blocks():
            if isinstance(block, Option) and (section.name, block.key.upper()) not in keys:
                return _style(block)
    return "=", False


def _set(section: Section, key: str, value: str, style: tuple[str, bool]) -> None:
    """Set ``key``: in its own line and style when present, else after the section's
    last key in the file's style."""
    delimiter, spaces = style
    if section.has_option(key):
        old = section[key]
        delimiter, spaces = _style(old)
        key = old.raw_key
        builder = old.add_before
        old.detach()  # multi-line values go with it
        builder.option(key, value, delimiter=delimiter, space_around_delimiters=spaces)
        return
    options = [block for block in section.iter_blocks() if isinstance(block, Option)]
    blocks = list(section.iter_blocks())
    if options:
        builder = options[-1].add_after
    elif blocks:
        builder = blocks[0].add_before
    else:
        section.add_option(
            section.create_option(key, value, delimiter=delimiter, space_around_delimiters=spaces)
        )
        return
    builder.option(key, value, delimiter=delimiter, space_around_delimiters=spaces)


def edit_cfg_text(text: str, updates: Mapping[tuple[str, str], str]) -> str:
    """``text`` with ``[section] KEY = value`` set for each update, nothing else changed.

    Missing sections are added at the end; the file's line endings and its style
    of separator (``KEY=value`` or ``KEY = value``) are kept.
    """
    newline = "\r\n" if "\r\n" in text else "\n"
    updater = ConfigUpdater()
    updater.read_string(text.replace("\r\n", "\n"))
    style = _file_style(updater, {(name, key.upper()) for name, key in updates})
    for (name, key), value in updates.items():
        if not updater.has_section(name):
            sections = list(updater.iter_sections())
            if sections:  # a blank line before the new section, unless there is one
                blocks = list(sections[-1].iter_blocks())
                if not (blocks and isinstance(blocks[-1], Space)):
                    sections[-1].add_after.space(1)
            updater.add_section(name)
        _set(updater[name], key.upper(), value, style)
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
            raise ClusterError(
                f"{real}: could not update [{section}] {key} safely; set it by hand to {value}"
            )

    fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, stat.S_IMODE(original.st_mode))
        if hasattr(os, "chown") and (original.st_uid, original.st_gid) != (
            os.getuid(),
            os.getgid(),
        ):
            # Not allowed to give the file away? The mode still holds.
            with contextlib.suppress(OSError):
                os.chown(tmp, original.st_uid, original.st_gid)
        os.replace(tmp, real)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
