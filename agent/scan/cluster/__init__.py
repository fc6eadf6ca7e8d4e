"""Scanning on a Dask `distributed` cluster (issue 15).

The client plans work units (agent.scan.cluster.units), ships the fingerprint index to each
worker once (agent.scan.cluster.index_plugin), and submits one task per unit; workers read and
match records without any database access (agent.scan.cluster.task) and return matches; the
client records them through the local scanner's own commit path (agent.scan.cluster.run) and
remembers which units are recorded, so an interrupted scan resumes (agent.scan.cluster.resume).
`distributed` is imported only here and in the modules that run it, never by a local scan.
"""

from __future__ import annotations

from agent.errors import UserError

EXTRA = "cluster"


def require_distributed():
    """The `distributed` module, or a UserError naming the extra that provides it."""
    try:
        import distributed
    except ImportError:
        raise UserError(f"aiaudit scan on a cluster needs Dask distributed: pip install 'aiaudit[{EXTRA}]'") from None
    return distributed
