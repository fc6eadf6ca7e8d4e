from __future__ import annotations

import textwrap

import pytest

from agent.config import load_config_text
from tests.alerts.listeners import HTTPCollector
from tests.alerts.listeners import TCPSyslog
from tests.alerts.listeners import UDPSyslog
from tests.alerts.listeners import self_signed


@pytest.fixture
def http():
    collector = HTTPCollector()
    yield collector
    collector.down()


@pytest.fixture
def udp():
    server = UDPSyslog()
    yield server
    server.close()


@pytest.fixture
def tcp():
    server = TCPSyslog()
    yield server
    server.down()


@pytest.fixture
def tls_cert(tmp_path):
    return self_signed(tmp_path)


@pytest.fixture
def tls(tls_cert):
    server = TCPSyslog(*tls_cert)
    yield server
    server.down()


def config_with(yaml_text: str, tmp_path, db_url: str | None = None):
    path = tmp_path / "aiaudit.yaml"
    path.write_text(textwrap.dedent(yaml_text))
    from agent.config import load_config

    return load_config(path, db_url)


def sinks_yaml(http, udp, tcp, tls, cert, ocsf_path, *, min_severity="high", extra="") -> str:
    return f"""
    alerts:
      evaluate_minutes: 0.02
      retry_seconds: 0.2
      retry_max_seconds: 1
      min_severity: {min_severity}
      sinks:
        - {{name: hook, type: webhook, url: "{http.url}/hook", token_env: AIAUDIT_TEST_HOOK_TOKEN}}
        - {{name: slack, type: webhook, url: "{http.url}/slack", format: slack}}
        - {{name: teams, type: webhook, url: "{http.url}/teams", format: teams}}
        - {{name: hec, type: splunk_hec, url: "{http.url}", token_env: AIAUDIT_TEST_HEC_TOKEN, index: security}}
        - {{name: syslog-udp, type: syslog, host: 127.0.0.1, port: {udp.port}, transport: udp}}
        - {{name: syslog-tcp, type: syslog, host: 127.0.0.1, port: {tcp.port}, transport: tcp}}
        - {{name: syslog-tls, type: syslog, host: localhost, port: {tls.port}, transport: tls, ca_file: "{cert}"}}
        - {{name: ocsf, type: ocsf_file, path: "{ocsf_path}"}}
    {extra}
    """


__all__ = ["config_with", "sinks_yaml", "load_config_text"]
