"""calls.output_parts: which parts (text, tool arguments, code, reasoning...) each output holds

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable and without a default: calls stored before this revision say nothing about parts.
    with op.batch_alter_table('calls') as batch:
        batch.add_column(sa.Column('output_parts', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('calls') as batch:
        batch.drop_column('output_parts')
