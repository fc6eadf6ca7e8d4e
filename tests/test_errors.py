"""Exit codes and the one-line internal error: the traceback goes to a file the line names, or to
a per-user temp file when the data home cannot be written."""

from __future__ import annotations

from agent.errors import EXIT_FOUND
from agent.errors import EXIT_INCOMPLETE
from agent.errors import EXIT_OK
from agent.errors import EXIT_USAGE
from agent.errors import UserError
from agent.errors import error_log_path
from agent.errors import internal_reason


def test_the_exit_codes_are_the_readmes():
    assert (EXIT_OK, EXIT_FOUND, EXIT_USAGE, EXIT_INCOMPLETE) == (0, 1, 2, 3)
    assert UserError("bad option").exit_code == EXIT_USAGE


def test_an_internal_error_is_one_line_naming_the_file_with_its_traceback(tmp_path, monkeypatch):
    log = tmp_path / "logs" / "errors.log"
    monkeypatch.setenv("AIAUDIT_ERROR_LOG", str(log))
    assert error_log_path() == log
    try:
        raise KeyError("first line\nsecond line")
    except KeyError as e:
        line = internal_reason(e, "scan /data")
    assert "\n" not in line and line.startswith("internal error (KeyError: ") and line.endswith(f"traceback in {log}")
    written = log.read_text()
    assert "scan /data" in written and "Traceback (most recent call last)" in written and "second line" in written


def test_an_unwritable_error_log_falls_back_to_a_temp_file(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("AIAUDIT_ERROR_LOG", str(blocker / "errors.log"))
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    line = internal_reason(RuntimeError(""), "report")
    assert line.startswith("internal error (RuntimeError); traceback in ") and str(tmp_path) in line
    assert any(p.name.endswith("errors.log") for p in tmp_path.iterdir())
