"""The load ledger (loads, load_files, load_errors) and songplays.load_id.

Adds a column to a populated table: existing plays keep every value and get a NULL
load_id (they predate the ledger); the downgrade drops the column and the ledger and
keeps every play.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

TAG = sa.String(32)
TIMESTAMP = sa.TIMESTAMP(timezone=False)


def upgrade() -> None:
    op.create_table(
        "loads",
        sa.Column("load_id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP),
        sa.Column("status", TAG, nullable=False),
        sa.Column("backend", TAG, nullable=False),
        sa.Column("steps", TAG, nullable=False),
        sa.Column("sources", sa.String(2048), nullable=False),
        sa.Column("rows_read", sa.BigInteger),
        sa.Column("rows_staged", sa.BigInteger),
        sa.Column("rows_rejected", sa.BigInteger),
        sa.Column("rows_inserted", sa.BigInteger),
        sa.Column("message", sa.String(1024)),
        sa.PrimaryKeyConstraint("load_id", name="pk_loads"),
        redshift_diststyle="ALL",
        redshift_sortkey="load_id",
    )
    op.create_table(
        "load_files",
        sa.Column("load_id", sa.Integer, nullable=False),
        sa.Column("uri", sa.String(1024), nullable=False),
        sa.Column("table_name", TAG, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("version", sa.String(64)),
        sa.ForeignKeyConstraint(["load_id"], ["loads.load_id"], name="fk_load_files_load_id_loads"),
        sa.PrimaryKeyConstraint("load_id", "uri", name="pk_load_files"),
        redshift_diststyle="EVEN",
        redshift_sortkey="load_id",
    )
    op.create_table(
        "load_errors",
        sa.Column("load_id", sa.Integer, nullable=False),
        sa.Column("error_no", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("table_name", TAG, nullable=False),
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("line_no", sa.Integer),
        sa.Column("reason", sa.String(256), nullable=False),
        sa.Column("raw_text", sa.String(1024)),
        sa.ForeignKeyConstraint(
            ["load_id"], ["loads.load_id"], name="fk_load_errors_load_id_loads"
        ),
        sa.PrimaryKeyConstraint("load_id", "error_no", name="pk_load_errors"),
        redshift_diststyle="EVEN",
        redshift_sortkey="load_id",
    )
    op.add_column("songplays", sa.Column("load_id", sa.Integer, redshift_encode="az64"))


def downgrade() -> None:
    tables = ("load_errors", "load_files", "loads")
    log.warning("dropping the load ledger (%s) and songplays.load_id", ", ".join(tables))
    op.drop_column("songplays", "load_id")
    for table in tables:
        op.drop_table(table)
