"""review and send: outbox delivery columns, review audit trail, reviewer accounts, web sessions

Revision ID: 0002_review_send
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_review_send"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("adapter", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("attempt_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("provider_message_id", sa.String(length=256), nullable=True))
        batch.add_column(sa.Column("error", sa.String(length=512), nullable=True))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_outbox_state_not_before", ["state", "not_before"])
    op.create_table(
        "review_actions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("draft_id", BigId, sa.ForeignKey("drafts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("campaign_id", BigId, sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_review_actions_campaign_created", "review_actions", ["campaign_id", "created_at"])
    op.create_index("ix_review_actions_draft", "review_actions", ["draft_id"])
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )


def downgrade() -> None:
    op.drop_table("web_sessions")
    op.drop_table("accounts")
    op.drop_index("ix_review_actions_draft", table_name="review_actions")
    op.drop_index("ix_review_actions_campaign_created", table_name="review_actions")
    op.drop_table("review_actions")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_state_not_before")
        for col in (
            "updated_at",
            "error",
            "provider_message_id",
            "sent_at",
            "not_before",
            "claimed_at",
            "attempts",
            "attempt_id",
            "adapter",
        ):
            batch.drop_column(col)
