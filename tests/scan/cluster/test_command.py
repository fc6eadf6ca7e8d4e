"""Choosing where `aiaudit scan` runs: --cluster, --workers, scanner.cluster, or here."""

from __future__ import annotations

import argparse

import pytest

from agent.config import Config
from agent.errors import UserError
from agent.scan.cluster.command import cluster_wanted


def _args(cluster=None, workers=None):
    return argparse.Namespace(cluster=cluster, workers=workers)


def test_where_the_scan_runs():
    here = Config(source=None, database_url="sqlite://")
    configured = Config(source=None, database_url="sqlite://", cluster="tcp://sched:8786")
    assert cluster_wanted(_args(), here) is None
    assert cluster_wanted(_args(), configured) == ("tcp://sched:8786", None)
    assert cluster_wanted(_args(cluster="tcp://other:8786"), configured) == ("tcp://other:8786", None)
    assert cluster_wanted(_args(workers=3), configured) == (None, 3)  # the command line wins


@pytest.mark.parametrize("args, message", [
    (_args(cluster="tcp://a:1", workers=2), "not both"),
    (_args(workers=0), "positive"),
    (_args(workers=-4), "positive"),
])
def test_contradictions_are_one_user_error(args, message):
    with pytest.raises(UserError, match=message):
        cluster_wanted(args, Config(source=None, database_url="sqlite://"))
