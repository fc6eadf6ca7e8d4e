from __future__ import annotations

import ipaddress

import pytest

from agent.config import Team
from agent.writer.attribution import Attributor

TEAMS = (
    Team("research", cidrs=(ipaddress.ip_network("10.20.0.0/16"),), proxy_users=("alice",),
         api_key_sha256=("a" * 64,)),
    Team("ml-platform", cidrs=(ipaddress.ip_network("10.20.7.0/24"),)),
    Team("support", cidrs=(ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8")),
         proxy_users=("bob",), api_key_sha256=("b" * 64,)),
)


@pytest.mark.parametrize(
    ("key", "user", "ip", "header", "team", "by"),
    [
        ("b" * 64, "alice", "10.20.1.1", "X", "support", "api_key"),  # key beats everything
        ("c" * 64, "alice", "10.30.1.1", "X", "research", "proxy_user"),  # unknown key: next rule
        (None, "carol", "10.20.1.1", "X", "research", "cidr"),
        (None, None, "10.20.7.9", None, "ml-platform", "cidr"),  # most specific network wins
        (None, None, "::ffff:10.20.1.1", None, "research", "cidr"),  # dual-stack listener
        (None, None, "fd00::1", None, "support", "cidr"),
        (None, None, "192.168.1.1", "data-eng", "data-eng", "header"),
        (None, None, "not-an-ip", "  ", "unattributed", "none"),
        (None, None, None, None, "unattributed", "none"),
    ],
)
def test_precedence_key_user_network_header(key, user, ip, header, team, by):
    got = Attributor(TEAMS, "X-Team").attribute(key, user, ip, header)
    assert (got.team, got.by) == (team, by)


def test_no_teams_configured_is_unattributed():
    assert Attributor((), None).attribute("a" * 64, "alice", "10.0.0.1", None).team == "unattributed"
