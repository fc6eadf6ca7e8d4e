"""Alembic environment: runs migrations on the engine the store hands over."""

from alembic import context
from sqlalchemy import text

from agent.store.models import Base

config = context.config
engine = config.attributes["engine"]

# Several proxies of a fleet may start at once against one PostgreSQL: only one migrates.
_PG_MIGRATION_LOCK = 0x616961756474  # "aiaudt"

with engine.connect() as connection:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        connection.commit()
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
            connection.commit()
