"""suppression_entries: the store's imported suppression list, applied to users imported later too

Revision ID: 0005_suppression_entries
Revises: 0004_ai_mark
Create Date: 2026-11-30 01:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_suppression_entries'
down_revision = '0004_ai_mark'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'suppression_entries',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('value', sa.String(length=320), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('source', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('kind', 'value', 'channel', name='uq_suppression_entry'),
    )


def downgrade() -> None:
    op.drop_table('suppression_entries')
