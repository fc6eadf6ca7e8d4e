"""Exit codes, the exception type for mistakes a user can fix, and where internal errors go.

A UserError (bad config, bad option, bad path) is printed as one line and exits 2. Anything else
is a bug: its traceback is appended to an error log and the command says, in one line, where;
it exits 3, never 1 (which `scan` and `verify` use for "found something").
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import traceback
from pathlib import Path

EXIT_OK = 0
EXIT_FOUND = 1  # the question asked has a yes: reuse found, a broken chain, a bad rule file
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3  # an internal error, or some input could not be examined

ERROR_LOG = "errors.log"


class UserError(Exception):
    exit_code = EXIT_USAGE


def error_log_path() -> Path:
    """`logs/errors.log` in the data home; AIAUDIT_ERROR_LOG overrides it."""
    explicit = os.environ.get("AIAUDIT_ERROR_LOG")
    if explicit:
        return Path(explicit)
    from agent.config import data_home

    return data_home() / "logs" / ERROR_LOG


def log_traceback(error: BaseException, context: str) -> Path:
    """Append `error`'s traceback to the error log; returns the file written. When the data
    home is not writable (a service user without a home), a per-user file in the temp directory
    takes it, so the one line printed always names a file that holds the traceback."""
    entry = (f"--- {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')} pid {os.getpid()} "
             f"{context}\n{''.join(traceback.format_exception(error))}")
    candidates = [error_log_path(), Path(tempfile.gettempdir()) / f"aiaudit-{os.getuid()}-{ERROR_LOG}"]
    for path in candidates:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                handle.write(entry)
            return path
        except OSError:
            continue
    sys.stderr.write(entry)  # nowhere to write: the traceback itself is better than nothing
    return Path("<stderr>")


def internal_reason(error: BaseException, context: str) -> str:
    """One line for an unexpected exception, its traceback logged: 'internal error (...)'."""
    where = log_traceback(error, context)
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    name = type(error).__name__
    return f"internal error ({name}{': ' + message[:300] if message else ''}); traceback in {where}"
