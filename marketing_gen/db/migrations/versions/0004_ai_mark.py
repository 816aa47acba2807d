"""drafts.ai_mark: who wrote the copy (model | fallback | human), the EU AI Act Art. 50 machine-readable mark

Revision ID: 0004_ai_mark
Revises: 0003_recommender_runs
Create Date: 2026-11-30 00:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_ai_mark'
down_revision = '0003_recommender_runs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('drafts') as batch:
        batch.add_column(sa.Column('ai_mark', sa.String(length=16), nullable=True))
    # Existing copy (generated drafts carry a model version): template fallback, else model-written; drafts with an
    # accepted reviewer edit are human.
    op.execute(
        "UPDATE drafts SET ai_mark = CASE WHEN fallback THEN 'fallback' ELSE 'model' END "
        "WHERE model_version IS NOT NULL"
    )
    op.execute(
        "UPDATE drafts SET ai_mark = 'human' WHERE id IN "
        "(SELECT draft_id FROM review_actions WHERE action = 'edit')"
    )


def downgrade() -> None:
    with op.batch_alter_table('drafts') as batch:
        batch.drop_column('ai_mark')
