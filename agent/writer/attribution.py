"""Which team made a call: API key, then proxy user, then client network, then header.

The order (docs/architecture.md, contracts): a key is the strongest evidence of who spends, a proxy login is a
person, a network is a place, and a header is only what the client chose to say.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from agent.config import Team

UNATTRIBUTED = "unattributed"


@dataclass(frozen=True, slots=True)
class Attribution:
    team: str
    by: str  # api_key | proxy_user | cidr | header | none


class Attributor:
    def __init__(self, teams: tuple[Team, ...], team_header: str | None) -> None:
        self.by_key = {h: t.name for t in teams for h in t.api_key_sha256}
        self.by_user = {u: t.name for t in teams for u in t.proxy_users}
        # most specific network first, so 10.20.1.0/24 wins over 10.0.0.0/8
        nets = [(net, t.name) for t in teams for net in t.cidrs]
        self.by_net = sorted(nets, key=lambda item: item[0].prefixlen, reverse=True)
        self.team_header = team_header
        self.known_teams = {t.name for t in teams}

    def attribute(self, key_sha256: str | None, proxy_user: str | None, client_ip: str | None,
                  header_team: str | None) -> Attribution:
        if key_sha256 and key_sha256 in self.by_key:
            return Attribution(self.by_key[key_sha256], "api_key")
        if proxy_user and proxy_user in self.by_user:
            return Attribution(self.by_user[proxy_user], "proxy_user")
        if client_ip and self.by_net:
            try:
                addr = ipaddress.ip_address(client_ip.split("%", 1)[0])
            except ValueError:
                addr = None
            if addr is not None:
                if addr.version == 6 and addr.ipv4_mapped:  # dual-stack listeners report ::ffff:a.b.c.d
                    addr = addr.ipv4_mapped
                for net, team in self.by_net:
                    if addr.version == net.version and addr in net:
                        return Attribution(team, "cidr")
        if header_team:
            name = header_team.strip()[:128]
            if name:
                return Attribution(name, "header")
        return Attribution(UNATTRIBUTED, "none")
