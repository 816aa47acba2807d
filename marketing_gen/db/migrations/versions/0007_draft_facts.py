"""drafts.facts: the items, offer, brand and link targets a draft"s copy was written and checked against

Revision ID: 0007_draft_facts
Revises: 0006_push_devices
Create Date: 2026-11-30 03:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0007_draft_facts"
down_revision = "0006_push_devices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing drafts keep NULL: what they were checked against was not recorded. Render rebuilds their context with
    # a logged warning (marketing_gen/campaigns/draft_facts.py).
    with op.batch_alter_table("drafts") as batch:
        batch.add_column(sa.Column("facts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("drafts") as batch:
        batch.drop_column("facts")
