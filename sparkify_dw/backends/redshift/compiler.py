"""How the shared constructs (:mod:`sparkify_dw.constructs`) compile on this engine: its
``@compiles`` visitors, registered when the engine is prepared (``EngineInfo.setup``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from sparkify_dw.constructs.ordering import _text, bytewise


@compiles(bytewise, "redshift")
def _bytewise_redshift(element: bytewise, compiler: SQLCompiler, **kw: Any) -> str:
    return f"COLLATE({_text(element, compiler, **kw)}, 'case_sensitive')"
