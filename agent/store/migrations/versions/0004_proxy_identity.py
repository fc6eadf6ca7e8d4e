"""proxy identities: counters keyed by proxy id, one heartbeat row per proxy

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:40:00

Counters move from (proxy_host, name) to (proxy_id, name): the table is rebuilt and its rows copied
with the host name as their id (they were counted before proxies had identities). Proxy
heartbeats leave the shared `heartbeats` table for `proxy_heartbeats`; the old rows are only the
last state of writers that will report again on their next start, so they are not carried over.
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('capture_counters_by_proxy',
    sa.Column('proxy_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('proxy_host', sa.String(length=255), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('proxy_id', 'name', name='pk_capture_counters_by_proxy')
    )
    op.execute("INSERT INTO capture_counters_by_proxy (proxy_id, name, proxy_host, value, updated_at) "
               "SELECT proxy_host, name, proxy_host, value, updated_at FROM capture_counters")
    op.drop_table('capture_counters')
    op.rename_table('capture_counters_by_proxy', 'capture_counters')

    op.create_table('proxy_heartbeats',
    sa.Column('proxy_id', sa.String(length=64), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('journal_dir', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('interval_s', sa.Float(), nullable=False),
    sa.Column('backlog_records', sa.BigInteger(), nullable=False),
    sa.Column('backlog_bytes', sa.BigInteger(), nullable=False),
    sa.Column('oldest_pending_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lag_s', sa.Float(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('error_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error_count', sa.BigInteger(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error_cleared_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error_count', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('proxy_id')
    )
    op.execute("DELETE FROM heartbeats WHERE component = 'proxy'")


def downgrade() -> None:
    op.drop_table('proxy_heartbeats')
    op.create_table('capture_counters_by_host',
    sa.Column('proxy_host', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('proxy_host', 'name', name='pk_capture_counters_by_host')
    )
    # proxies that shared a host name merge again, as they did before identities
    op.execute("INSERT INTO capture_counters_by_host (proxy_host, name, value, updated_at) "
               "SELECT proxy_host, name, SUM(value), MAX(updated_at) FROM capture_counters "
               "GROUP BY proxy_host, name")
    op.drop_table('capture_counters')
    op.rename_table('capture_counters_by_host', 'capture_counters')
