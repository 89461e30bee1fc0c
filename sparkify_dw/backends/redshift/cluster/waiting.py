"""Waiting until the cluster is available, or gone, with boto3's Redshift waiters.

The waiters (``cluster_available``, ``cluster_deleted``) do the polling; a hook on
every DescribeClusters answer they get shows the state as it goes (a spinner on
a terminal, one line per poll elsewhere) and stops the wait with one line where
the waiter would go on in vain: the cluster disappeared, it reached a state it
never leaves for "available" (paused, storage-full, ...), or the time is up.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from botocore.exceptions import ClientError, WaiterError

from sparkify_dw.errors import ClusterError
from sparkify_dw.output import Progress

DEFAULT_TIMEOUT = 1800.0
DEFAULT_POLL_INTERVAL = 15.0
WAITERS = {"available": "cluster_available", "deleted": "cluster_deleted"}
# States in which waiting for "available" can never succeed.
DEAD_STATES = {
    "deleting",
    "final-snapshot",
    "paused",
    "pausing",
    "hardware-failure",
    "incompatible-hsm",
    "incompatible-network",
    "incompatible-parameters",
    "incompatible-restore",
    "storage-full",
}
NOT_FOUND = ("ClusterNotFound", "ClusterNotFoundFault")
_EVENT = "after-call.redshift.DescribeClusters"
_UNBOUNDED = 1_000_000_000  # attempts when polling without a pause: the clock ends it


def max_attempts(timeout: float, poll_interval: float) -> int:
    """The polls that fit in ``timeout``: one at once, then one per ``poll_interval``."""
    if poll_interval <= 0:
        return _UNBOUNDED
    return int(max(timeout, 0.0) // poll_interval) + 1


class _Watch:
    """Sees each DescribeClusters answer the waiter gets (a botocore event handler)."""

    def __init__(
        self,
        identifier: str,
        until: str,
        timeout: float,
        clock: Callable[[], float],
        display: Progress,
    ) -> None:
        self.identifier, self.until, self.timeout = identifier, until, timeout
        self.clock, self.display = clock, display
        self.start = clock()
        self.cluster: dict[str, Any] | None = None
        self.state = "unknown"

    def elapsed(self) -> float:
        return self.clock() - self.start

    def __call__(self, parsed: Mapping[str, Any], **_: Any) -> None:
        error = parsed.get("Error")
        if error and error.get("Code") not in NOT_FOUND:
            return  # the waiter stops on it; wait_for_cluster raises it as it came
        clusters = [] if error else list(parsed.get("Clusters") or [])
        self.cluster = clusters[0] if clusters else None
        self.state = (
            str(self.cluster.get("ClusterStatus", "unknown")) if self.cluster else "deleted"
        )
        if self.until == "deleted" and self.cluster is None:
            return
        if self.until == "available":
            if self.cluster is None:
                raise ClusterError(f"cluster {self.identifier} disappeared while waiting for it")
            if self.state in DEAD_STATES:
                raise self.dead()
            if self.state == "available":
                return
        self.check_time()
        self.display.update(
            f"waiting: cluster {self.identifier} is {self.state} "
            f"({self.elapsed():.0f}s of {self.timeout:g}s)"
        )

    def check_time(self) -> None:
        if self.elapsed() >= self.timeout:
            raise self.timed_out()

    def dead(self) -> ClusterError:
        if self.until == "deleted":
            return ClusterError(
                f"cluster {self.identifier} is {self.state}, not being "
                "deleted; run `sparkify-dw cluster delete` again"
            )
        return ClusterError(
            f"cluster {self.identifier} is {self.state}; it will not become "
            "available (check the Redshift console)"
        )

    def timed_out(self) -> ClusterError:
        again = "create" if self.until == "available" else "delete --wait"
        return ClusterError(
            f"timed out after {self.timeout:g}s waiting for cluster "
            f"{self.identifier} (state: {self.state}); it carries on in AWS: "
            f"run `sparkify-dw cluster {again}` to keep waiting"
        )


def _failed(waiter: Any, response: Mapping[str, Any]) -> bool:
    """Whether the waiter stopped on one of its failure states (the cluster is in a state
    it never leaves for the one awaited), read from the waiter's own acceptors rather than
    its message; otherwise it ran out of attempts, i.e. time."""
    return any(
        acceptor.state == "failure" and acceptor.matcher_func(response)
        for acceptor in waiter.config.acceptors
    )


def wait_for_cluster(
    redshift: Any,
    identifier: str,
    *,
    until: str = "available",
    timeout: float = DEFAULT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    progress: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any] | None:
    """Wait until the cluster is ``available`` with an endpoint (returned) or ``deleted``
    (None), asking every ``poll_interval`` seconds for at most ``timeout`` seconds."""
    if until not in WAITERS:
        raise ValueError("until must be 'available' or 'deleted'")
    with Progress(progress if progress is not None else sys.stderr) as display:
        watch = _Watch(identifier, until, timeout, clock, display)
        redshift.meta.events.register(_EVENT, watch)
        try:
            while True:
                attempts = max_attempts(timeout - watch.elapsed(), poll_interval)
                waiter = redshift.get_waiter(WAITERS[until])
                try:
                    waiter.wait(
                        ClusterIdentifier=identifier,
                        WaiterConfig={"Delay": poll_interval, "MaxAttempts": attempts},
                    )
                except WaiterError as exc:
                    last = exc.last_response or {}
                    if last.get("Error", {}).get("Code") not in (None, *NOT_FOUND):
                        raise ClientError(last, "DescribeClusters") from None
                    if _failed(waiter, last):
                        raise watch.dead() from None
                    raise watch.timed_out() from None
                if until == "deleted":
                    display.done(f"cluster {identifier}: deleted after {watch.elapsed():.0f}s")
                    return None
                if watch.cluster is not None and (watch.cluster.get("Endpoint") or {}).get(
                    "Address"
                ):
                    display.done(f"cluster {identifier}: available after {watch.elapsed():.0f}s")
                    return watch.cluster
                # Available, but the endpoint is not assigned yet: ask again shortly.
                watch.check_time()
                display.update(
                    f"waiting: cluster {identifier} has no endpoint yet "
                    f"({watch.elapsed():.0f}s of {timeout:g}s)"
                )
                time.sleep(min(poll_interval, max(0.0, timeout - watch.elapsed())))
        finally:
            redshift.meta.events.unregister(_EVENT, watch)
