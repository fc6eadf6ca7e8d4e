"""The store's identity: which store this is, and how often outputs were removed from it.

Local state derived from a store (the output index, the capture journal) records the store id it
was made for; the index also records the removal epoch. Neither is ever used with another store,
and an index made before outputs were removed (prune) is rebuilt rather than trusted.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import update

from agent.store.engine import Store
from agent.store.models import StoreIdentity


@dataclass(frozen=True, slots=True)
class Identity:
    store_id: str
    removal_epoch: int


def read_identity(store: Store) -> Identity:
    """The store's identity (made by migration 0002; made here if its row was deleted)."""
    with store.session() as s:
        row = s.get(StoreIdentity, 1)
    if row is None:
        with store.write_session() as s:
            row = s.get(StoreIdentity, 1)
            if row is None:
                row = StoreIdentity(id=1, store_id=str(uuid.uuid4()), created_at=dt.datetime.now(dt.timezone.utc),
                                    removal_epoch=0)
                s.add(row)
    return Identity(row.store_id, int(row.removal_epoch))


def note_outputs_removed(session) -> None:
    """Call in the transaction that deletes outputs: indexes made before it are then stale."""
    session.execute(update(StoreIdentity).where(StoreIdentity.id == 1)
                    .values(removal_epoch=StoreIdentity.removal_epoch + 1))


__all__ = ["Identity", "note_outputs_removed", "read_identity"]
