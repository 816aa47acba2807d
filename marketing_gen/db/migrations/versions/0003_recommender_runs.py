"""recommender runs: the model each `recommend` run used and the automatic selection's figures

Revision ID: 0003_recommender_runs
Revises: 0002_review_send
Create Date: 2026-11-30 00:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_recommender_runs'
down_revision = '0002_review_send'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recommender_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=32), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('requested', sa.String(length=32), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('recommender_runs')
