"""What Amazon Redshift does not support of PostgreSQL, as data for the conformance checks.

Each entry: a regular expression over a statement as Redshift receives it (case-insensitive,
string literals blanked out first), what it is, and the AWS page that says so. Sources, in
the Amazon Redshift Database Developer Guide, "Amazon Redshift and PostgreSQL":
"Unsupported PostgreSQL features", "Unsupported PostgreSQL data types", "Unsupported
PostgreSQL functions"; and the SQL reference pages of INSERT, UPDATE, DELETE and COPY.

Left out on purpose: "NULLS clause in window functions" (Unsupported PostgreSQL features).
The SQL reference's "Window functions" syntax summary lists ``[ NULLS FIRST | NULLS LAST ]``
in a window's ``order_list``, which the transform uses; the narrower page is taken as right.
"""

from __future__ import annotations

FEATURES = "Unsupported PostgreSQL features"
TYPES = "Unsupported PostgreSQL data types"
FUNCTIONS = "Unsupported PostgreSQL functions"
INSERT = "SQL reference: INSERT (no RETURNING, no ON CONFLICT)"

UNSUPPORTED: tuple[tuple[str, str, str], ...] = (
    # Statements and clauses
    (r"\bRETURNING\b", "RETURNING", INSERT),
    (r"\bON\s+CONFLICT\b", "INSERT … ON CONFLICT", INSERT),
    (r"\bSAVEPOINT\b", "savepoints (ROLLBACK TO SAVEPOINT)", FUNCTIONS),
    (r"\bCREATE\s+(UNIQUE\s+)?INDEX\b", "indexes", FEATURES),
    (
        r"\bCREATE\s+SEQUENCE\b|\bNEXTVAL\s*\(|\bCURRVAL\s*\(|\bSETVAL\s*\(",
        "sequences and sequence manipulation functions",
        FEATURES,
    ),
    (r"\bCREATE\s+(CONSTRAINT\s+)?TRIGGER\b", "triggers", FEATURES),
    (r"\bTABLESPACE\b", "tablespaces", FEATURES),
    (r"\bPARTITION\s+BY\s+(RANGE|LIST|HASH)\b", "table partitioning", FEATURES),
    (r"\bINHERITS\b", "inheritance", FEATURES),
    # PostgreSQL's COLLATE clause; Redshift's own COLLATE(expr, 'case_sensitive') function
    # (SQL reference: "COLLATE function") is a call, so a parenthesis follows the word.
    (r"\bCOLLATE\b(?!\s*\()", "collations (the COLLATE clause)", FEATURES),
    (r"\bEXCLUDE\s+USING\b", "exclusion constraints", FEATURES),
    (
        r"\bGENERATED\s+(ALWAYS|BY\s+DEFAULT)\s+AS\s+IDENTITY\b",
        "SQL-standard identity columns (Redshift: IDENTITY(seed, step))",
        FEATURES,
    ),
    (r"\bARRAY\s*\[", "array constructors", FEATURES),
    (r"\bROW\s*\(", "row constructors", FEATURES),
    (
        r"\bFROM\s*\(\s*VALUES\b|\bJOIN\s*\(\s*VALUES\b",
        "VALUES lists used as constant tables",
        FEATURES,
    ),
    (r"\bIS\s+(NOT\s+)?DISTINCT\s+FROM\b", "IS DISTINCT FROM", FUNCTIONS),
    # Data types
    (r"\b(JSONB|JSON)\b(?!\s+AS\b)|::\s*JSONB?\b", "json and jsonb types", TYPES),
    (r"\b(BIGSERIAL|SMALLSERIAL|SERIAL)\b", "serial types", TYPES),
    (
        r"\b(BYTEA|UUID|INET|CIDR|MACADDR|TSVECTOR|TSQUERY|XML|MONEY|BIT\s+VARYING)\b",
        "unsupported data types",
        TYPES,
    ),
    (r"\b\w+\s+INTERVAL\s*(,|\)|NOT\b|NULL\b|DEFAULT\b)", "INTERVAL as a column type", TYPES),
    (r"\[\s*\]", "arrays", TYPES),
    # Functions
    (
        r"\b(STRING_AGG|ARRAY_AGG|EVERY|XML_AGG|CORR|COVAR_POP|COVAR_SAMP|REGR_[A-Z0-9]+)\s*\(",
        "aggregate functions",
        FUNCTIONS,
    ),
    (r"\bPG_(TRY_)?ADVISORY_[A-Z_]+\s*\(", "advisory lock functions", FUNCTIONS),
    (
        r"\b(CLOCK_TIMESTAMP|JUSTIFY_DAYS|JUSTIFY_HOURS|JUSTIFY_INTERVAL|PG_SLEEP|"
        r"TRANSACTION_TIMESTAMP)\s*\(",
        "date/time functions",
        FUNCTIONS,
    ),
    (r"\b(DIV|SETSEED|WIDTH_BUCKET)\s*\(", "mathematical functions", FUNCTIONS),
    (r"\b(GENERATE_SERIES|GENERATE_SUBSCRIPTS)\s*\(", "set-returning functions", FUNCTIONS),
    (
        r"\b(BIT_LENGTH|OVERLAY|CONVERT_FROM|CONVERT_TO|ENCODE|FORMAT|QUOTE_NULLABLE|"
        r"REGEXP_MATCHES|REGEXP_SPLIT_TO_ARRAY|REGEXP_SPLIT_TO_TABLE)\s*\(",
        "string functions",
        FUNCTIONS,
    ),
    (
        r"\b(TO_JSONB?|JSONB_[A-Z_]+|JSON_(BUILD|OBJECT|POPULATE|TO|EACH|ARRAY_ELEMENTS|AGG|"
        r"STRIP_NULLS|TYPEOF)[A-Z_]*|ROW_TO_JSON|ARRAY_TO_JSON)\s*\(",
        "PostgreSQL JSON functions (Redshift has JSON_EXTRACT_PATH_TEXT and SUPER)",
        FUNCTIONS,
    ),
    (
        r"\bPG_(RELATION_SIZE|TOTAL_RELATION_SIZE|DATABASE_SIZE|TABLE_SIZE|INDEXES_SIZE|"
        r"COLUMN_SIZE)\s*\(",
        "database object size functions",
        FUNCTIONS,
    ),
    (
        r"\b(OBJ_DESCRIPTION|COL_DESCRIPTION|SHOBJ_DESCRIPTION)\s*\(",
        "comment information functions",
        FUNCTIONS,
    ),
    (r"\bHAS_[A-Z_]+_PRIVILEGE\s*\(", "access privilege inquiry functions", FUNCTIONS),
    (r"\bPG_(START|STOP)_BACKUP\s*\(|\bPG_SWITCH_WAL\s*\(", "backup control functions", FUNCTIONS),
    (
        r"\bPG_(CANCEL|TERMINATE)_BACKEND\s*\(|\bPG_RELOAD_CONF\s*\(",
        "server signalling functions",
        FUNCTIONS,
    ),
    (r"\bPG_LS_DIR\s*\(|\bPG_READ_(BINARY_)?FILE\s*\(", "generic file access functions", FUNCTIONS),
)
