"""brands.open_tracking: embed the open pixel in HTML emails (default on; false opts the brand out)

Revision ID: 0008_brand_open_tracking
Revises: 0007_draft_facts
Create Date: 2026-11-30 03:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0008_brand_open_tracking"
down_revision = "0007_draft_facts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing brands get the default (on): the A/B report already computed open rates for them.
    with op.batch_alter_table("brands") as batch:
        batch.add_column(sa.Column("open_tracking", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("brands") as batch:
        batch.drop_column("open_tracking")
