"""What a load did, as :func:`sparkify_dw.load.run` returns it, and the hook a display
uses to follow the load's steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sparkify_dw.staging import StageRequest


@dataclass
class LoadResult:
    """What a load did: records read and rejected, rows per table, seconds per step."""

    load_id: int | None = None
    read: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    staged: dict[str, int] = field(default_factory=dict)
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    unplayable: int = 0  # NextSong events that lack a column songplays requires
    warnings: list[str] = field(default_factory=list)  # e.g. maintenance after the commit
    # What the stage step read: the ledger lists its files once the transform built the
    # star tables from them, in the same transaction.
    staged_requests: list[StageRequest] = field(default_factory=list, repr=False)
    step: str = ""  # what the load was doing, for a one-line error
    interrupted: int | None = None  # the signal that arrived as the load committed

    def summary(self) -> str:
        lines = [f"  load      #{self.load_id}"] if self.load_id is not None else []
        for table, rows in self.staged.items():
            extra = ""
            if self.rejected.get(table):
                extra = f" ({self.read[table]:,} read, {self.rejected[table]:,} rejected)"
            lines.append(f"  staged    {table:<15} {rows:>10,} rows{extra}")
        for table, rows in self.inserted.items():
            extra = f", {self.updated[table]:,} updated" if table in self.updated else ""
            lines.append(f"  inserted  {table:<15} {rows:>10,} rows{extra}")
        for table, rows in self.counts.items():
            lines.append(f"  total     {table:<15} {rows:>10,} rows")
        if self.unplayable:
            lines.append(
                f"  skipped   {self.unplayable:,} NextSong event(s) without a user, "
                "session, item or level (kept in staging_events)"
            )
        rejected = sum(self.rejected.values())
        if rejected:
            lines.append(
                f"  rejected  {rejected:,} record(s): list them with "
                f"`sparkify-dw errors {self.load_id}`"
            )
        lines += [f"  warning   {w}" for w in self.warnings]
        timing = ", ".join(f"{step} {secs:.2f}s" for step, secs in self.seconds.items())
        return "\n".join([*lines, f"  time      {timing}"])


# Told as each step begins (name, the load so far, the staging request or None): what a
# display needs to show progress; see sparkify_dw.output.LoadProgress.
StepHook = Callable[[str, LoadResult, StageRequest | None], None]


def no_step(name: str, result: LoadResult, request: StageRequest | None) -> None:
    return None
