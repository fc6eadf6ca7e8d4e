"""The mitmdump command line shared by `aiaudit proxy` and the demo."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.config import load_config
from agent.errors import UserError
from agent.proxy.launch import SCRIPT
from agent.proxy.launch import mitmdump_command
from agent.proxy.launch import options_set


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "aiaudit.yaml"
    path.write_text(f"database_url: sqlite:///{tmp_path / 'a.db'}\nproxy:\n  confdir: {tmp_path / 'conf'}\n"
                    "  listen_port: 8123\n")
    return load_config(path)


def test_the_addon_config_and_store_come_from_the_configuration(config, tmp_path):
    argv, env = mitmdump_command(config)
    assert argv[1:3] == ["-s", str(SCRIPT)] and SCRIPT.is_file()
    assert argv[argv.index("--listen-port") + 1] == "8123"
    assert f"confdir={tmp_path / 'conf'}" in argv and (tmp_path / "conf").is_dir()
    assert env["AIAUDIT_DB"] == config.database_url and env["AIAUDIT_CONFIG"] == str(config.source)
    assert config.database_url not in " ".join(argv)  # a password never shows in the process list


def test_given_host_and_port_win_over_the_configuration_and_passthrough_wins_over_both(config):
    argv, _ = mitmdump_command(config, "127.0.0.1", 9001, ["--set", "listen_port=9002", "-s", "x.py"])
    assert "--listen-port" not in argv and argv[argv.index("--listen-host") + 1] == "127.0.0.1"
    assert argv[-4:] == ["--set", "listen_port=9002", "-s", "x.py"]


@pytest.mark.parametrize("port", [-1, 65536, 10**9])
def test_a_port_out_of_range_is_one_line(config, port):
    with pytest.raises(UserError, match="expected a TCP port"):
        mitmdump_command(config, listen_port=port)


def test_replacing_the_scripts_is_refused(config):
    with pytest.raises(UserError, match="cannot replace the capture addon"):
        mitmdump_command(config, passthrough=["--set", "scripts=other.py"])


@given(st.lists(st.text(max_size=20), max_size=12))
def test_options_set_never_fails(argv):
    assert isinstance(options_set(argv), dict)
