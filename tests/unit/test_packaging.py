"""What a built wheel carries: every package of the source tree, the migrations."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_is_listed_for_the_wheel() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = {p.strip() for p in cfg["options"]["packages"].split() if p.strip()}
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "sparkify_dw").rglob("*.py")
        if "__pycache__" not in p.parts and (p.parent / "__init__.py").exists()
    }
    found |= {"sparkify_dw.migrations", "sparkify_dw.migrations.versions"}
    assert listed == found
