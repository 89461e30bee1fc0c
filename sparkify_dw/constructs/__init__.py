"""SQL constructs whose text differs per dialect: one construct, one visitor per dialect.

Everything else in the package is dialect-neutral SQLAlchemy Core. Each engine's visitors
live in its package (``backends/<engine>/compiler.py``) and register when the engine is
prepared; a construct's default visitor prepares the engine of a dialect it meets first
(:mod:`.dispatch`). Each module holds one kind:

- :mod:`.ddl`: identity columns on DuckDB;
- :mod:`.values`: epoch milliseconds as a timestamp, the strict cast, UTF-8 byte length;
- :mod:`.json_values`: JSON fields and the records both engines must see alike;
- :mod:`.ordering`: text ordered by its bytes, whatever the collation;
- :mod:`.readers`: DuckDB's table functions over staged input, PostgreSQL's COPY FROM STDIN;
- :mod:`.statements`: LOCK, ANALYZE/VACUUM, SET, and statements sent with no parameters.
"""

from sparkify_dw.constructs.ddl import identity_sequence_name
from sparkify_dw.constructs.json_values import (
    duplicate_keys,
    json_field,
    json_fields,
    json_kind,
    json_text,
    suspect_record,
)
from sparkify_dw.constructs.ordering import by_bytes, bytewise
from sparkify_dw.constructs.readers import copy_from_stdin, csv_rows, json_lines, tsv_records
from sparkify_dw.constructs.statements import (
    LockTables,
    SetLocal,
    SetParameter,
    TableMaintenance,
    Unparameterized,
)
from sparkify_dw.constructs.values import byte_length, epoch_ms_to_timestamp, strict_cast

__all__ = [
    "LockTables",
    "SetLocal",
    "SetParameter",
    "TableMaintenance",
    "Unparameterized",
    "by_bytes",
    "byte_length",
    "bytewise",
    "copy_from_stdin",
    "csv_rows",
    "duplicate_keys",
    "epoch_ms_to_timestamp",
    "identity_sequence_name",
    "json_field",
    "json_fields",
    "json_kind",
    "json_lines",
    "json_text",
    "strict_cast",
    "suspect_record",
    "tsv_records",
]
