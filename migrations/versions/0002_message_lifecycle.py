"""message lifecycle: change numbers, replies, edits, tombstones, reactions

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 04:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "chats", sa.Column("last_pts", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.create_check_constraint("last_pts_non_negative", "chats", "last_pts >= 0")
    op.add_column("messages", sa.Column("pts", sa.BigInteger(), nullable=True))
    op.add_column("messages", sa.Column("reply_to_seq", sa.BigInteger(), nullable=True))
    op.add_column("messages", sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("messages", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    # Every message so far was one send: its change number is its seq, and the chat has
    # counted as many changes as it has messages.
    op.execute("UPDATE messages SET pts = seq")
    op.execute("UPDATE chats SET last_pts = last_seq")
    op.alter_column("messages", "pts", nullable=False)
    op.alter_column("messages", "text", nullable=True)
    op.create_check_constraint("pts_positive", "messages", "pts >= 1")
    op.create_check_constraint(
        "text_null_when_deleted", "messages", "(text IS NULL) = (deleted_at IS NOT NULL)"
    )
    op.create_unique_constraint(op.f("uq_messages_chat_id_pts"), "messages", ["chat_id", "pts"])
    op.create_foreign_key(
        op.f("fk_messages_chat_id_messages"),
        "messages",
        "messages",
        ["chat_id", "reply_to_seq"],
        ["chat_id", "seq"],
        ondelete="CASCADE",
    )
    op.create_table(
        "reactions",
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("emoji", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_reactions_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reactions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("message_id", "user_id", name=op.f("pk_reactions")),
    )


def downgrade() -> None:
    op.drop_table("reactions")
    op.drop_constraint(op.f("fk_messages_chat_id_messages"), "messages", type_="foreignkey")
    op.drop_constraint(op.f("uq_messages_chat_id_pts"), "messages", type_="unique")
    op.drop_constraint(op.f("ck_messages_text_null_when_deleted"), "messages", type_="check")
    op.drop_constraint(op.f("ck_messages_pts_positive"), "messages", type_="check")
    # Version 0001 has no tombstones: a message deleted for everyone is gone for good.
    op.execute("DELETE FROM messages WHERE deleted_at IS NOT NULL")
    op.alter_column("messages", "text", nullable=False)
    op.drop_column("messages", "deleted_at")
    op.drop_column("messages", "edited_at")
    op.drop_column("messages", "reply_to_seq")
    op.drop_column("messages", "pts")
    op.drop_constraint(op.f("ck_chats_last_pts_non_negative"), "chats", type_="check")
    op.drop_column("chats", "last_pts")
