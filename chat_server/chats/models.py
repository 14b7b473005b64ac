"""The `chats`, `chat_members` and `groups` tables."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from chat_server.db import Base

PRIVATE = "private"
GROUP = "group"
OWNER = "owner"
MEMBER = "member"


class Chat(Base):
    __tablename__ = "chats"
    __table_args__ = (
        CheckConstraint(f"type IN ('{PRIVATE}', '{GROUP}')", name="type"),
        # A private chat names its two users (low id first); a group chat names none.
        CheckConstraint(
            f"(type = '{PRIVATE}' AND pair_low_id IS NOT NULL AND pair_high_id IS NOT NULL"
            " AND pair_low_id < pair_high_id AND name IS NULL)"
            f" OR (type = '{GROUP}' AND pair_low_id IS NULL AND pair_high_id IS NULL)",
            name="pair_matches_type",
        ),
        # One private chat per unordered pair of users.
        UniqueConstraint("pair_low_id", "pair_high_id"),
        CheckConstraint("last_seq >= 0", name="last_seq_non_negative"),
        CheckConstraint("last_pts >= 0", name="last_pts_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # The seq of the newest message; the next message takes last_seq + 1.
    last_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # The number of the latest change to the chat's messages (a send, an edit, a delete,
    # a reaction change); the next change takes last_pts + 1.
    last_pts: Mapped[int] = mapped_column(BigInteger, server_default="0")
    pair_low_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE")
    )
    pair_high_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )


class ChatMember(Base):
    __tablename__ = "chat_members"
    __table_args__ = (
        CheckConstraint(f"role IN ('{OWNER}', '{MEMBER}')", name="role"),
        CheckConstraint("last_read_seq >= 0", name="last_read_seq_non_negative"),
        Index("ix_chat_members_user_id", "user_id"),
    )

    chat_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # "This member has read everything up to here"; only moves forward.
    last_read_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    role: Mapped[str] = mapped_column(String(16), server_default=MEMBER)
