"""Descriptions of every table and column in the database catalog (COMMENT ON).

Analysts see them in their SQL client; the docs site shows the models' copy. Only
comments change: no table is rewritten, every row stays. The downgrade clears them.
The texts are frozen here as of this revision: a later change of a model's description
is a new revision (``alembic check`` notices the difference).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table: (table description, {column: column description})
DESCRIPTIONS: dict[str, tuple[str, dict[str, str]]] = {
    "staging_events": (
        "Raw app events from the log_data JSON files, one row per record, columns in "
        "JSONPaths order; emptied and refilled by each load's stage step",
        {
            "artist": "Artist name as logged by the player (JSON artist); set on NextSong events",
            "auth": "Authentication state: Logged In, Logged Out, Guest or Cancelled (JSON auth)",
            "first_name": "User's first name (JSON firstName); NULL for logged-out visitors",
            "gender": "User's gender, M or F (JSON gender); NULL for logged-out visitors",
            "item_in_session": "Position of the event in its session, counting from 0 (JSON "
            "itemInSession)",
            "last_name": "User's last name (JSON lastName); NULL for logged-out visitors",
            "length": "Duration of the played song in seconds, as logged (JSON length); set on "
            "NextSong events",
            "level": "User's subscription level at event time, free or paid (JSON level)",
            "location": "User's location as 'City, ST' (JSON location)",
            "method": "HTTP method of the request, GET or PUT (JSON method)",
            "page": "App page of the event, e.g. NextSong, Home, Logout (JSON page); NextSong is a "
            "song play",
            "registration": "When the user registered, epoch milliseconds, UTC (JSON registration)",
            "session_id": "Session id (JSON sessionId)",
            "song": "Title of the played song, as logged (JSON song); set on NextSong events",
            "status": "HTTP status code of the request, e.g. 200 (JSON status)",
            "ts": "Event time, epoch milliseconds, UTC (JSON ts)",
            "user_agent": "Client's browser user agent string (JSON userAgent)",
            "user_id": "User id (JSON userId); NULL for logged-out visitors",
        },
    ),
    "staging_songs": (
        "Million Song Dataset records from the song_data JSON files, one row per file, "
        "JSON keys = column names; emptied and refilled by each load",
        {
            "num_songs": "Songs in the record, 1 in the Million Song Dataset files (JSON "
            "num_songs)",
            "artist_id": "Million Song Dataset artist id, AR... 18 characters (JSON artist_id)",
            "artist_latitude": "Artist's latitude in decimal degrees; NULL when unknown (JSON "
            "artist_latitude)",
            "artist_longitude": "Artist's longitude in decimal degrees; NULL when unknown (JSON "
            "artist_longitude)",
            "artist_location": "Artist's location as free text; empty is NULL (JSON "
            "artist_location)",
            "artist_name": "Artist name (JSON artist_name)",
            "song_id": "Million Song Dataset song id, SO... 18 characters (JSON song_id)",
            "title": "Song title (JSON title)",
            "duration": "Song duration in seconds (JSON duration)",
            "year": "Release year; 0 when unknown (JSON year)",
        },
    ),
    "artists": (
        "Dimension: one row per artist id in song_data, values from the artist's song "
        "with the smallest song_id; loaded rows are kept",
        {
            "artist_id": "Million Song Dataset artist id (staging_songs.artist_id)",
            "name": "Artist name (staging_songs.artist_name)",
            "location": "Artist location as free text, NULL when empty "
            "(staging_songs.artist_location)",
            "latitude": "Artist latitude in decimal degrees, NULL when unknown "
            "(staging_songs.artist_latitude)",
            "longitude": "Artist longitude in decimal degrees, NULL when unknown "
            "(staging_songs.artist_longitude)",
        },
    ),
    "songs": (
        "Dimension: one row per song id in song_data; rows already loaded are kept",
        {
            "song_id": "Million Song Dataset song id (staging_songs.song_id)",
            "title": "Song title (staging_songs.title)",
            "artist_id": "The song's artist, a key of artists (staging_songs.artist_id)",
            "year": "Release year, NULL where the source says 0 (staging_songs.year)",
            "duration": "Song duration in seconds (staging_songs.duration)",
        },
    ),
    "users": (
        "Dimension: one row per user id seen in any event (not only NextSong), "
        "attributes from the user's latest event",
        {
            "user_id": "User id, from staging_events.user_id of any event",
            "first_name": "First name, from the user's latest event (staging_events.first_name)",
            "last_name": "Last name, from the user's latest event (staging_events.last_name)",
            "gender": "Gender, M or F, from the user's latest event (staging_events.gender)",
            "level": "Subscription level, free or paid, as of the user's latest event "
            "(staging_events.level)",
            "last_event_at": "Time of the user's latest event loaded, UTC (staging_events.ts); "
            "only a newer event overwrites the row",
        },
    ),
    "time": (
        "Dimension: one row per distinct songplays.start_time, split into calendar parts, UTC",
        {
            "start_time": "A song play's start, UTC, millisecond precision (songplays.start_time)",
            "hour": "Hour of the day, 0-23, UTC",
            "day": "Day of the month, 1-31, UTC",
            "week": "ISO 8601 week of the year, 1-53",
            "month": "Month, 1-12, UTC",
            "year": "Calendar year, UTC",
            "weekday": "Day of the week, 0 = Sunday ... 6 = Saturday, as Redshift's DOW",
        },
    ),
    "songplays": (
        "Fact: one row per NextSong event (a song play), keyed by start_time, user_id, "
        "session_id and item_in_session; a rerun never adds it twice",
        {
            "songplay_id": "Surrogate key generated by the warehouse (IDENTITY on Redshift)",
            "start_time": "When the play started, UTC, millisecond precision (staging_events.ts, "
            "epoch ms)",
            "user_id": "Who played, a key of users (staging_events.user_id)",
            "level": "User's subscription level at play time, free or paid (staging_events.level)",
            "song_id": "The staged song (staging_songs.song_id) with the play's title, artist name "
            "and duration to the ms; NULL when none matches",
            "artist_id": "Artist of the matched song (staging_songs.artist_id); NULL when no song "
            "matches",
            "session_id": "Session of the play (staging_events.session_id)",
            "item_in_session": "Position of the play in its session, from 0 "
            "(staging_events.item_in_session)",
            "location": "User's location at play time, 'City, ST' (staging_events.location)",
            "user_agent": "Client's user agent at play time (staging_events.user_agent)",
            "load_id": "The load that inserted the play (loads.load_id); NULL for plays loaded "
            "before the ledger",
        },
    ),
    "loads": (
        "Load ledger: one row per run of the loader, with what it read, staged, rejected "
        "and inserted",
        {
            "load_id": "Load number, counting from 1, one more than the last recorded",
            "started_at": "When the load started, UTC",
            "finished_at": "When the load ended, UTC; NULL while it runs",
            "status": "running, succeeded, failed or abandoned",
            "backend": "Database it loaded: duckdb, postgresql or redshift",
            "steps": "Steps it ran, comma-separated: stage, transform, check",
            "sources": "The log_data and song_data sources, as configured",
            "rows_read": "Source records read: staged + rejected",
            "rows_staged": "Records staged into staging_events and staging_songs",
            "rows_rejected": "Records rejected into load_errors",
            "rows_inserted": "Songplays inserted",
            "message": "The error of a failed load, one line, secrets masked",
        },
    ),
    "load_files": (
        "Source files a successful load staged: what --incremental skips next time",
        {
            "load_id": "The load that staged the file (loads.load_id)",
            "uri": "Absolute path or s3:// URI of the file",
            "table_name": "Staging table the file filled",
            "size": "File size in bytes",
            "version": "S3 ETag or local modification time: a changed file counts as new",
        },
    ),
    "load_errors": (
        "Records a load rejected, with file, line and reason, as Redshift keeps stl_load_errors",
        {
            "load_id": "The load that rejected the record (loads.load_id)",
            "error_no": "Number of the rejected record within its load, from 1",
            "table_name": "Staging table the record was meant for",
            "source": "File (path or URI) the record came from",
            "line_no": "Line of the record in its file",
            "reason": "Why the record was rejected, e.g. not JSON, a value of the wrong type or "
            "too long",
            "raw_text": "The record's text, cut to 1024 characters",
        },
    ),
}


def upgrade() -> None:
    for table, (about, columns) in DESCRIPTIONS.items():
        op.create_table_comment(table, about, existing_comment=None)
        for column, text in columns.items():
            op.alter_column(table, column, comment=text, existing_comment=None)


def downgrade() -> None:
    for table, (about, columns) in reversed(DESCRIPTIONS.items()):
        for column, text in columns.items():
            op.alter_column(table, column, comment=None, existing_comment=text)
        op.drop_table_comment(table, existing_comment=about)
