"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 15:21:23.827078
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index(
        "uq_users_email_lower", "users", [sa.literal_column("lower(email)")], unique=True
    )
    op.create_table(
        "chats",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("pair_low_id", sa.BigInteger(), nullable=True),
        sa.Column("pair_high_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            (
                "(type = 'private' AND pair_low_id IS NOT NULL AND pair_high_id IS NOT NULL"
                " AND pair_low_id < pair_high_id AND name IS NULL)"
                " OR (type = 'group' AND pair_low_id IS NULL AND pair_high_id IS NULL)"
            ),
            name=op.f("ck_chats_pair_matches_type"),
        ),
        sa.CheckConstraint("type IN ('private', 'group')", name=op.f("ck_chats_type")),
        sa.CheckConstraint("last_seq >= 0", name=op.f("ck_chats_last_seq_non_negative")),
        sa.ForeignKeyConstraint(
            ["pair_high_id"],
            ["users.id"],
            name=op.f("fk_chats_pair_high_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pair_low_id"],
            ["users.id"],
            name=op.f("fk_chats_pair_low_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chats")),
        sa.UniqueConstraint(
            "pair_low_id", "pair_high_id", name=op.f("uq_chats_pair_low_id_pair_high_id")
        ),
    )
    op.create_index(op.f("ix_chats_pair_high_id"), "chats", ["pair_high_id"], unique=False)
    op.create_table(
        "chat_members",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "joined_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("last_read_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("role", sa.String(length=16), server_default="member", nullable=False),
        sa.CheckConstraint("role IN ('owner', 'member')", name=op.f("ck_chat_members_role")),
        sa.CheckConstraint(
            "last_read_seq >= 0", name=op.f("ck_chat_members_last_read_seq_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chats.id"],
            name=op.f("fk_chat_members_chat_id_chats"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_chat_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chat_id", "user_id", name=op.f("pk_chat_members")),
    )
    op.create_index("ix_chat_members_user_id", "chat_members", ["user_id"], unique=False)
    op.create_table(
        "groups",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("creator_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_groups_chat_id_chats"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["users.id"],
            name=op.f("fk_groups_creator_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_groups_chat_id")),
    )
    op.create_index(op.f("ix_groups_creator_id"), "groups", ["creator_id"], unique=False)
    op.create_table(
        "messages",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("sender_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("is_read", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("client_msg_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "char_length(text) BETWEEN 1 AND 4096 AND btrim(text) <> ''",
            name=op.f("ck_messages_text_length"),
        ),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_messages_seq_positive")),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_messages_chat_id_chats"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["users.id"],
            name=op.f("fk_messages_sender_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("chat_id", "seq", name=op.f("uq_messages_chat_id_seq")),
        sa.UniqueConstraint(
            "sender_id", "client_msg_id", name=op.f("uq_messages_sender_id_client_msg_id")
        ),
    )
    op.create_index(
        "ix_messages_chat_id_seq_unread",
        "messages",
        ["chat_id", "seq"],
        unique=False,
        postgresql_where=sa.text("NOT is_read"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_messages_chat_id_seq_unread",
        table_name="messages",
        postgresql_where=sa.text("NOT is_read"),
    )
    op.drop_table("messages")
    op.drop_index(op.f("ix_groups_creator_id"), table_name="groups")
    op.drop_table("groups")
    op.drop_index("ix_chat_members_user_id", table_name="chat_members")
    op.drop_table("chat_members")
    op.drop_index(op.f("ix_chats_pair_high_id"), table_name="chats")
    op.drop_table("chats")
    op.drop_index("uq_users_email_lower", table_name="users")
    op.drop_table("users")
