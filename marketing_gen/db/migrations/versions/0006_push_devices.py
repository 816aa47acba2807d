"""push devices: APNs / FCM tokens and topics per user

Revision ID: 0006_push_devices
Revises: 0005_suppression_entries
Create Date: 2026-11-30 00:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0006_push_devices"
down_revision = "0005_suppression_entries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("platform", sa.String(length=8), nullable=False),
        sa.Column("token", sa.String(length=512), nullable=False),
        sa.Column("topic", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "platform", "token", "topic", name="uq_device"),
    )
    op.create_index("ix_devices_user", "devices", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_devices_user", table_name="devices")
    op.drop_table("devices")
