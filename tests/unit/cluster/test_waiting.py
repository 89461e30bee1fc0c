"""Waiting for the cluster and the IAM role (sparkify_dw.cluster.waiting), stubbed."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from sparkify_dw.backends.redshift import cluster
from sparkify_dw.backends.redshift.cluster import aws as cluster_aws
from sparkify_dw.errors import ClusterError
from tests.unit.cluster.support import REGION, ROLE, fast_session

# -------------------------------------------------------------------- waiting


NO_ENDPOINT = "available, no endpoint yet"


def scripted_redshift(states: list[str | None]) -> tuple[Any, Stubber]:
    """A real Redshift client whose DescribeClusters answers are ``states`` in turn
    (None: ClusterNotFound), as the boto3 waiters see them; nothing is sent."""
    redshift = fast_session(
        aws_access_key_id="AKIAFAKE", aws_secret_access_key="fake", region_name=REGION
    ).client("redshift")
    stub = Stubber(redshift)
    for state in states:
        if state is None:
            stub.add_client_error("describe_clusters", "ClusterNotFound", "gone", 404)
            continue
        found: dict[str, Any] = {
            "ClusterIdentifier": "c",
            "ClusterStatus": "available" if state == NO_ENDPOINT else state,
        }
        if state == "available":
            found["Endpoint"] = {"Address": "h.example.com", "Port": 5439}
        stub.add_response("describe_clusters", {"Clusters": [found]})
    stub.activate()
    return redshift, stub


def test_wait_prints_a_line_per_poll() -> None:
    progress = io.StringIO()
    fake, stub = scripted_redshift(["creating", "creating", "available"])
    found = cluster.wait_for_cluster(fake, "c", poll_interval=0, progress=progress)
    assert found is not None and found["ClusterStatus"] == "available"
    lines = progress.getvalue().splitlines()
    assert lines == ["waiting: cluster c is creating (0s of 1800s)"] * 2 + [
        "cluster c: available after 0s"
    ]
    stub.assert_no_pending_responses()


def test_wait_asks_again_until_the_endpoint_is_assigned() -> None:
    fake, stub = scripted_redshift(["creating", NO_ENDPOINT, "available"])
    progress = io.StringIO()
    found = cluster.wait_for_cluster(fake, "c", poll_interval=0, progress=progress)
    assert found is not None and found["Endpoint"]["Address"] == "h.example.com"
    assert "waiting: cluster c has no endpoint yet (0s of 1800s)" in progress.getvalue()
    stub.assert_no_pending_responses()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_wait_spins_on_a_terminal() -> None:
    screen = Terminal()
    fake, _ = scripted_redshift(["creating", "creating", "available"])
    cluster.wait_for_cluster(fake, "c", poll_interval=0.01, progress=screen)
    text = screen.getvalue()
    assert "waiting: cluster c is creating" in text  # the status line, drawn in place
    assert "\u280b" in text  # a spinner frame (rich's "dots")
    # the status line is erased (transient), then the final line written
    assert re.search(r"\x1b\[2Kcluster c: available after \d+s\n$", text), text  # a busy box: 1s


def test_wait_times_out_with_a_way_forward() -> None:
    fake, _ = scripted_redshift(["creating"] * 6)
    with pytest.raises(ClusterError, match=r"timed out after 0.05s .*creating.* create"):
        cluster.wait_for_cluster(
            fake, "c", timeout=0.05, poll_interval=0.01, progress=io.StringIO()
        )


def test_wait_stops_at_the_timeout_on_the_clock() -> None:
    now = [0.0]

    def clock() -> float:
        now[0] += 10.0  # every look at the clock is ten seconds later
        return now[0]

    fake, _ = scripted_redshift(["deleting"] * 5)
    with pytest.raises(ClusterError, match=r"timed out after 25s .*deleting.* delete"):
        cluster.wait_for_cluster(
            fake,
            "c",
            until="deleted",
            timeout=25,
            poll_interval=0,
            progress=io.StringIO(),
            clock=clock,
        )


def test_wait_for_deletion_and_dead_states() -> None:
    fake, _ = scripted_redshift(["deleting", None])
    assert (
        cluster.wait_for_cluster(
            fake, "c", until="deleted", poll_interval=0, progress=io.StringIO()
        )
        is None
    )
    fake, _ = scripted_redshift(["deleting"])
    with pytest.raises(ClusterError, match="is deleting"):
        cluster.wait_for_cluster(fake, "c", poll_interval=0, progress=io.StringIO())
    fake, _ = scripted_redshift(["paused"])
    with pytest.raises(ClusterError, match="is paused; it will not become available"):
        cluster.wait_for_cluster(fake, "c", poll_interval=0, progress=io.StringIO())
    fake, _ = scripted_redshift(["creating", None])
    with pytest.raises(ClusterError, match="disappeared while waiting"):
        cluster.wait_for_cluster(fake, "c", poll_interval=0, progress=io.StringIO())
    fake, _ = scripted_redshift(["creating"])
    with pytest.raises(ClusterError, match="is creating, not being deleted"):
        cluster.wait_for_cluster(
            fake, "c", until="deleted", poll_interval=0, progress=io.StringIO()
        )


def test_wait_reports_other_aws_errors_as_they_came() -> None:
    fake, stub = scripted_redshift([])
    stub.add_client_error("describe_clusters", "AccessDenied", "no", 403)
    with pytest.raises(ClientError) as raised:
        cluster.wait_for_cluster(fake, "c", poll_interval=0, progress=io.StringIO())
    assert cluster.describe_aws_error(raised.value).startswith(
        "not allowed by your IAM permissions: DescribeClusters: AccessDenied"
    )


def test_a_new_role_is_waited_for() -> None:
    """IAM is eventually consistent: create waits (role_exists) until the role shows."""
    iam = fast_session(
        aws_access_key_id="AKIAFAKE", aws_secret_access_key="fake", region_name=REGION
    ).client("iam")
    stub = Stubber(iam)
    stub.add_client_error("get_role", "NoSuchEntity", "no", 404)
    role = {
        "Path": "/",
        "RoleName": ROLE,
        "RoleId": "AROAFAKEFAKEFAKEFAKE",
        "Arn": f"arn:aws:iam::123456789012:role/{ROLE}",
        "CreateDate": "2026-01-01",
    }
    stub.add_response("create_role", {"Role": role})
    for _ in range(3):
        stub.add_client_error("get_role", "NoSuchEntity", "not yet", 404)
    stub.activate()
    with pytest.raises(ClusterError, match="created but IAM does not show it yet"):
        cluster_aws.ensure_role(
            iam, ROLE, lambda line: None, waiter_config={"Delay": 0, "MaxAttempts": 3}
        )
    stub.assert_no_pending_responses()


def test_wait_unregisters_its_hook() -> None:
    fake, _ = scripted_redshift(["available", "creating"])
    cluster.wait_for_cluster(fake, "c", poll_interval=0, progress=io.StringIO())
    assert (
        fake.describe_clusters(ClusterIdentifier="c")["Clusters"][0]["ClusterStatus"] == "creating"
    )  # no progress line, no ClusterError from a stale hook
