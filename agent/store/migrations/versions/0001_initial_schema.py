"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 02:07:54.281721
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calls',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('vendor', sa.String(length=64), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('endpoint', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('model', sa.String(length=255), nullable=True),
    sa.Column('served_model', sa.String(length=255), nullable=True),
    sa.Column('team', sa.String(length=128), nullable=False),
    sa.Column('attributed_by', sa.String(length=16), nullable=False),
    sa.Column('user', sa.String(length=255), nullable=True),
    sa.Column('client_ip', sa.String(length=64), nullable=True),
    sa.Column('api_key_sha256', sa.String(length=64), nullable=True),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('streamed', sa.Boolean(), nullable=False),
    sa.Column('request_n', sa.Integer(), nullable=True),
    sa.Column('logprobs', sa.Boolean(), nullable=False),
    sa.Column('top_logprobs', sa.Integer(), nullable=True),
    sa.Column('max_tokens', sa.Integer(), nullable=True),
    sa.Column('temperature', sa.Float(), nullable=True),
    sa.Column('template_signature', sa.String(length=64), nullable=True),
    sa.Column('prompt_sha256', sa.String(length=64), nullable=True),
    sa.Column('upload_purpose', sa.String(length=64), nullable=True),
    sa.Column('prompt_tokens', sa.Integer(), nullable=True),
    sa.Column('completion_tokens', sa.Integer(), nullable=True),
    sa.Column('outputs', sa.Integer(), nullable=False),
    sa.Column('output_chars', sa.Integer(), nullable=False),
    sa.Column('parse_error', sa.Text(), nullable=True),
    sa.Column('output_text', sa.Text(), nullable=True),
    sa.Column('request_bytes', sa.BigInteger(), nullable=False),
    sa.Column('response_bytes', sa.BigInteger(), nullable=False),
    sa.Column('duration_ms', sa.Float(), nullable=True),
    sa.Column('proxy_host', sa.String(length=255), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index('ix_calls_team_ts', ['team', 'ts'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_ts'), ['ts'], unique=False)
        batch_op.create_index('ix_calls_vendor_ts', ['vendor', 'ts'], unique=False)

    op.create_table('capture_counters',
    sa.Column('proxy_host', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('proxy_host', 'name')
    )
    op.create_table('chain_checkpoints',
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('chain_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_table('dataset_files',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('root', sa.Text(), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('mtime_ns', sa.BigInteger(), nullable=False),
    sa.Column('inode', sa.BigInteger(), nullable=True),
    sa.Column('device', sa.BigInteger(), nullable=True),
    sa.Column('head_sha256', sa.String(length=64), nullable=True),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.Column('records', sa.BigInteger(), nullable=False),
    sa.Column('bad_records', sa.BigInteger(), nullable=False),
    sa.Column('index_generation', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('path')
    )
    op.create_table('findings',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('dedupe_key', sa.String(length=64), nullable=False),
    sa.Column('rule_id', sa.String(length=64), nullable=False),
    sa.Column('rule_name', sa.String(length=128), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('team', sa.String(length=128), nullable=False),
    sa.Column('vendor', sa.String(length=64), nullable=True),
    sa.Column('group_key', sa.JSON(), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('clause', sa.Text(), nullable=True),
    sa.Column('clause_reviewed', sa.String(length=32), nullable=True),
    sa.Column('stance', sa.String(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('chain_seq', sa.BigInteger(), nullable=True),
    sa.Column('chain_hash', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('chain_seq'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_findings_rule_id'), ['rule_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_findings_team'), ['team'], unique=False)
        batch_op.create_index(batch_op.f('ix_findings_window_start'), ['window_start'], unique=False)

    op.create_table('heartbeats',
    sa.Column('component', sa.String(length=64), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('component', 'host')
    )
    op.create_table('reuse_findings',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('found_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('upload_call_id', sa.String(length=26), nullable=True),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('record', sa.BigInteger(), nullable=False),
    sa.Column('record_sha256', sa.String(length=64), nullable=False),
    sa.Column('call_ids', sa.JSON(), nullable=False),
    sa.Column('output_ids', sa.JSON(), nullable=False),
    sa.Column('vendors', sa.JSON(), nullable=False),
    sa.Column('teams', sa.JSON(), nullable=False),
    sa.Column('output_coverage', sa.Float(), nullable=False),
    sa.Column('record_coverage', sa.Float(), nullable=False),
    sa.Column('matched_words', sa.Integer(), nullable=False),
    sa.Column('longest_run', sa.Integer(), nullable=False),
    sa.Column('reuse_class', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('path', 'record', 'record_sha256', name='uq_reuse_path_record_hash')
    )
    with op.batch_alter_table('reuse_findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reuse_findings_found_at'), ['found_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reuse_findings_upload_call_id'), ['upload_call_id'], unique=False)

    op.create_table('evidence',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('finding_id', sa.String(length=26), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('chain_seq', sa.BigInteger(), nullable=True),
    sa.Column('chain_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('chain_seq')
    )
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_finding_id'), ['finding_id'], unique=False)

    op.create_table('outputs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('call_id', sa.String(length=26), nullable=False),
    sa.Column('idx', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('word_count', sa.Integer(), nullable=False),
    sa.Column('char_count', sa.Integer(), nullable=False),
    sa.Column('exact_hash', sa.LargeBinary(length=16), nullable=False),
    sa.Column('fingerprint', sa.LargeBinary(), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('matched_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('call_id', 'kind', 'idx', name='uq_outputs_call_kind_idx')
    )
    with op.batch_alter_table('outputs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outputs_call_id'), ['call_id'], unique=False)
        batch_op.create_index('ix_outputs_exact_hash', ['exact_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_outputs_ts'), ['ts'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outputs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outputs_ts'))
        batch_op.drop_index('ix_outputs_exact_hash')
        batch_op.drop_index(batch_op.f('ix_outputs_call_id'))

    op.drop_table('outputs')
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_finding_id'))

    op.drop_table('evidence')
    with op.batch_alter_table('reuse_findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reuse_findings_upload_call_id'))
        batch_op.drop_index(batch_op.f('ix_reuse_findings_found_at'))

    op.drop_table('reuse_findings')
    op.drop_table('heartbeats')
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_findings_window_start'))
        batch_op.drop_index(batch_op.f('ix_findings_team'))
        batch_op.drop_index(batch_op.f('ix_findings_rule_id'))

    op.drop_table('findings')
    op.drop_table('dataset_files')
    op.drop_table('chain_checkpoints')
    op.drop_table('capture_counters')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index('ix_calls_vendor_ts')
        batch_op.drop_index(batch_op.f('ix_calls_ts'))
        batch_op.drop_index('ix_calls_team_ts')

    op.drop_table('calls')
