"""alerts: the outbox, the scheduler's state, and chain revisions of updated findings

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('chain_revisions',
    sa.Column('chain_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('table_name', sa.String(length=16), nullable=False),
    sa.Column('row_id', sa.String(length=26), nullable=False),
    sa.Column('canonical', sa.Text(), nullable=False),
    sa.Column('chain_hash', sa.String(length=64), nullable=False),
    sa.Column('revised_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('chain_seq')
    )
    with op.batch_alter_table('chain_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chain_revisions_row_id'), ['row_id'], unique=False)

    op.create_table('alert_outbox',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('sink', sa.String(length=64), nullable=False),
    sa.Column('finding_id', sa.String(length=26), nullable=True),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('alert_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_alert_outbox_due', ['delivered_at', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_alert_outbox_sink', ['sink', 'delivered_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_outbox_finding_id'), ['finding_id'], unique=False)

    op.create_table('alert_state',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('alert_state')
    with op.batch_alter_table('alert_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_outbox_finding_id'))
        batch_op.drop_index('ix_alert_outbox_sink')
        batch_op.drop_index('ix_alert_outbox_due')
    op.drop_table('alert_outbox')
    with op.batch_alter_table('chain_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chain_revisions_row_id'))
    op.drop_table('chain_revisions')
