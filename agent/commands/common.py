"""What most commands need: the configuration and the store, from the global options."""

from __future__ import annotations

import argparse
import datetime as dt

from agent.config import Config
from agent.config import load_config
from agent.errors import UserError


def config_from(args: argparse.Namespace) -> Config:
    return load_config(getattr(args, "config", None), getattr(args, "db", None))


def store_from(config: Config):
    from agent.store.engine import open_store

    try:
        return open_store(config.database_url)
    except UserError:
        raise
    except Exception as e:  # an unreachable server or unreadable file: one line, not a traceback
        from agent.store.engine import _safe

        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"cannot open the store {_safe(config.database_url)}: {reason}") from e


def parse_time(value: str, option: str) -> dt.datetime:
    """ISO 8601 date or date-time; naive values are UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UserError(
            f"{option}: expected an ISO 8601 date or time such as 2026-11-23 or 2026-11-23T08:00:00Z, got {value!r}"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def add_period(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", metavar="T", help="from this ISO 8601 date/time (inclusive, UTC if no zone)")
    parser.add_argument("--until", metavar="T", help="up to this ISO 8601 date/time (exclusive)")


def period_from(args: argparse.Namespace) -> tuple[dt.datetime | None, dt.datetime | None]:
    since = parse_time(args.since, "--since") if args.since else None
    until = parse_time(args.until, "--until") if args.until else None
    if since and until and since >= until:
        raise UserError(f"--since {args.since} is not before --until {args.until}")
    return since, until
