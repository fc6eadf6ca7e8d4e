"""reuse findings: the record fields holding the reused text, their side, the match's tier

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:50:00

Findings stored before this revision keep `fields` empty, `role` 'unknown' and `tier` ''
(the detector that made them gave neither); the rules treat them as before.
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reuse_findings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fields', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('role', sa.String(length=16), nullable=False, server_default='unknown'))
        batch_op.add_column(sa.Column('tier', sa.String(length=16), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('reuse_findings', schema=None) as batch_op:
        batch_op.drop_column('tier')
        batch_op.drop_column('role')
        batch_op.drop_column('fields')
