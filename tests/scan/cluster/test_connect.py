"""Reaching a scheduler: one user error naming the address (without its secrets) when it cannot."""

from __future__ import annotations

import socket

import pytest

pytest.importorskip("distributed")

from agent.errors import UserError  # noqa: E402
from agent.scan.cluster.connect import cluster_client  # noqa: E402

pytestmark = pytest.mark.timeout(120)


def test_an_unreachable_scheduler_is_a_user_error():
    import dask

    from agent.scan.cluster.connect import connect_timeout

    assert connect_timeout() == dask.config.get("distributed.comm.timeouts.connect")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        assert connect_timeout() == "2s"
        with pytest.raises(UserError, match=f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}"):
            with cluster_client(f"tcp://127.0.0.1:{port}", None):
                pass


def test_a_local_cluster_of_processes_is_started_and_stopped(recwarn):
    import dask

    from agent.scan.cluster.connect import LOCAL_CONFIG

    with socket.socket() as taken:  # the port Dask's HTTP server wants: another Dask may hold it
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            taken.bind(("", 8787))
            taken.listen()
        except OSError:  # held already: the case itself
            pass
        with cluster_client(None, 1) as (client, local):
            assert local
            assert not [w for w in recwarn if "8787" in str(w.message)]  # no warning on the user's stderr
            # the workers run with the settings that keep Dask's own periodic work small
            got = client.run(lambda: {k: dask.config.get(k) for k in LOCAL_CONFIG})
            assert list(got.values()) == [LOCAL_CONFIG]
            info = client.scheduler_info()["workers"]
            assert len(info) == 1
            pids = client.run(__import__("os").getpid)
            assert list(pids.values())[0] != __import__("os").getpid()  # a process of its own
    assert client.status == "closed"
