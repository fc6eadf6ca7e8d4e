"""One stand-in vendor and one real mitmdump (route addon only) shared by the stand-in tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.standin import StandinServer
from tests.support.standin.harness import ProxyProcess
from tests.support.standin.harness import standin_proxy


@pytest.fixture(scope="session")
def standin() -> Iterator[StandinServer]:
    with StandinServer() as server:
        yield server
    assert not server.errors, "\n".join(server.errors)


@pytest.fixture(scope="session")
def proxy(standin: StandinServer,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    process = standin_proxy(tmp_path_factory.mktemp("mitmproxy"), standin.port)
    with process:
        yield process
    assert not process.group_alive()


@pytest.fixture
def prompt(request: pytest.FixtureRequest) -> str:
    """A prompt unique to the test, so each test's expected text differs from the others'."""
    return f"Write about {request.node.name}"
