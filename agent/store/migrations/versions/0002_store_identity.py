"""store identity

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 10:40:00

Every store gets its identity here: a new one when its schema is created, an existing one when
it is upgraded. The output index and the capture journal record it (see agent/store/identity.py).
"""

import datetime as dt
import uuid

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table('store_identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('removal_epoch', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    now = dt.datetime.now(dt.timezone.utc)
    if op.get_bind().dialect.name == 'sqlite':  # stored naive there, as models.UTCDateTime does
        now = now.replace(tzinfo=None)
    op.bulk_insert(table, [{'id': 1, 'store_id': str(uuid.uuid4()), 'created_at': now, 'removal_epoch': 0}])


def downgrade() -> None:
    op.drop_table('store_identity')
