"""reuse findings: the matched spans (per field, the character ranges of the reused text)

Revision ID: 0008
Revises: 0007

Findings stored before this revision keep `spans` empty: the scan that made them did not compute
them, and a finding is stored once per (path, record, record SHA-256), so scanning again does not
rewrite it (it may already be cited by chained evidence).
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reuse_findings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('spans', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('reuse_findings', schema=None) as batch_op:
        batch_op.drop_column('spans')
