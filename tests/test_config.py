from __future__ import annotations

import ipaddress
import textwrap

import pytest

from agent.config import load_config
from agent.config import load_config_text
from agent.config.schema import SCHEMA
from agent.config.schema import documented_settings
from agent.errors import UserError


def write(tmp_path, text: str):
    path = tmp_path / "aiaudit.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("privacy:\n  store_txt: full\n", 2, "unknown setting privacy.store_txt"),
        ("databse_url: sqlite:///x.db\n", 1, "unknown setting databse_url"),
        ("teams:\n  - name: a\n  - name: b\n    cidr: [10.0.0.0/8]\n", 4, "unknown setting teams[1].cidr"),
        ("privacy:\n  store_text: everything\n", 2, "expected one of none, excerpt, full"),
        ("privacy:\n  excerpt_chars: lots\n", 2, "privacy.excerpt_chars: expected an integer, got str 'lots'"),
        ("privacy:\n  excerpt_chars: true\n", 2, "expected an integer, got boolean True"),
        ("privacy:\n  excerpt_chars: -5\n", 2, "expected a positive number"),
        ("teams:\n  - name: r\n    cidrs: [10.0.0.0/33]\n", 3, "teams[0].cidrs[0]: expected an IP network"),
        ("teams:\n  - name: r\n    api_key_sha256: [abc]\n", 3, "expected 64 hex characters"),
        ("teams:\n  - cidrs: [10.0.0.0/8]\n", 2, "teams[0].name is required"),
        ("teams:\n  - name: unattributed\n", 2, "expected a team name"),
        ("teams: research\n", 1, "teams: expected a list, got str 'research'"),
        ("privacy: none\n", 1, "privacy: expected a mapping"),
        ("proxy:\n  listen_port: 70000\n", 2, "expected a TCP port"),
        ("team_header: 'X Team'\n", 1, "expected an HTTP header name"),
        ("database_url: mysql://x\n", 1, "expected sqlite:///PATH or postgresql+psycopg://"),
        ("privacy:\n  store_text: full\n  store_text: none\n", 3, "duplicate key 'store_text' (first defined on line 2)"),
        ("teams:\n  - name: a\n   cidrs: []\n", 3, "not valid YAML"),
        ("- just\n- a list\n", 1, "expected a mapping of settings"),
    ],
)
def test_config_errors_name_file_and_line(tmp_path, text, line, expected):
    path = write(tmp_path, text)
    with pytest.raises(UserError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert expected in message
    assert "\n" not in message


def test_duplicate_team_names_are_rejected(tmp_path):
    path = write(tmp_path, "teams:\n  - name: a\n  - name: a\n")
    with pytest.raises(UserError, match="team 'a' is defined twice"):
        load_config(path)


def test_alias_bomb_is_rejected_quickly(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(UserError, match="expands to more than"):
        load_config(path)


def test_oversized_config_is_rejected(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * (2 << 20) + "\n")
    with pytest.raises(UserError, match="larger than"):
        load_config(path)


def test_unsafe_yaml_tags_are_refused(tmp_path):
    path = write(tmp_path, "database_url: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_config(path)


def test_missing_and_directory_paths(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(UserError, match="is a directory"):
        load_config(tmp_path)


def test_valid_config_is_typed_and_paths_are_relative_to_the_file(tmp_path):
    key_hash = "a" * 64
    path = write(
        tmp_path,
        f"""
        privacy:
          store_text: excerpt
        teams:
          - name: research
            cidrs: [10.20.0.0/16]
            proxy_users: [alice]
            api_key_sha256: ["{key_hash.upper()}"]
        team_header: X-Team
        watch:
          - path: data
          - path: /mnt/share
            poll: true
        rules:
          paths: [rules.d]
        """,
    )
    cfg = load_config(path)
    assert cfg.store_text == "excerpt"
    team = cfg.teams[0]
    assert team.cidrs == (ipaddress.ip_network("10.20.0.0/16"),)
    assert team.api_key_sha256 == (key_hash,)  # normalised to lower case
    assert cfg.team_header == "X-Team"
    assert cfg.watch[0].path == tmp_path / "data" and not cfg.watch[0].poll
    assert str(cfg.watch[1].path) == "/mnt/share" and cfg.watch[1].poll
    assert cfg.rule_paths == (tmp_path / "rules.d",)


def test_environment_overrides(tmp_path, monkeypatch):
    path = write(tmp_path, "database_url: sqlite:///from-file.db\n")
    monkeypatch.setenv("AIAUDIT_CONFIG", str(path))
    assert load_config().database_url == "sqlite:///from-file.db"
    monkeypatch.setenv("AIAUDIT_DB", "sqlite:///from-env.db")
    assert load_config().database_url == "sqlite:///from-env.db"
    assert load_config(db="sqlite:///from-option.db").database_url == "sqlite:///from-option.db"


def test_defaults_without_any_file(tmp_path, monkeypatch):
    monkeypatch.delenv("AIAUDIT_CONFIG", raising=False)
    monkeypatch.delenv("AIAUDIT_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setattr("agent.config.SYSTEM_CONFIG", tmp_path / "absent.yaml")
    cfg = load_config()
    assert cfg.source is None
    assert cfg.database_url == f"sqlite:///{tmp_path / 'aiaudit' / 'audit.db'}"
    assert cfg.store_text == "none" and cfg.teams == ()


def test_shipped_example_loads_and_shows_every_setting():
    from agent.config import example_config_text

    text = example_config_text()
    cfg = load_config_text(text, "aiaudit.example.yaml")
    assert cfg.database_url.startswith("sqlite:////var/lib/aiaudit/")
    uncommented = "\n".join(line.split("#")[0] for line in text.splitlines())
    for name, _help in documented_settings():
        leaf = name.split(".")[-1].replace("[]", "")
        assert f"{leaf}:" in text, f"setting {name} is not shown in the example config"
    for key in SCHEMA.fields:
        assert f"\n{key}:" in "\n" + uncommented, f"top-level {key} not set in the example"


def test_every_setting_has_help():
    for name, help_text in documented_settings():
        assert help_text.strip(), f"{name} has no help text"
