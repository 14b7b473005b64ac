"""The `messages` table."""

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from chat_server.db import Base

MAX_TEXT_LENGTH = 4096


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # Exactly-once storage: the client's id, per sender, is the identity of a send.
        UniqueConstraint("sender_id", "client_msg_id"),
        # Gapless, repeat-free order inside a chat; also the index history pages use.
        UniqueConstraint("chat_id", "seq"),
        CheckConstraint(
            f"char_length(text) BETWEEN 1 AND {MAX_TEXT_LENGTH} AND btrim(text) <> ''",
            name="text_length",
        ),
        CheckConstraint("seq >= 1", name="seq_positive"),
        # Each change number of a chat belongs to at most one message (its latest change);
        # also the index catch-up by pts uses.
        UniqueConstraint("chat_id", "pts"),
        CheckConstraint("pts >= 1", name="pts_positive"),
        # A tombstone keeps no text, and only a tombstone has none.
        CheckConstraint("(text IS NULL) = (deleted_at IS NOT NULL)", name="text_null_when_deleted"),
        # A reply quotes a message of the same chat.
        ForeignKeyConstraint(
            ["chat_id", "reply_to_seq"], ["messages.chat_id", "messages.seq"], ondelete="CASCADE"
        ),
        # Search (see search/index.py): the words of every message. A tombstone has no
        # text, so no words. Not partial, so ANALYZE keeps statistics of the words and the
        # planner can tell a rare word (use this index) from a common one (walk the
        # newest messages and stop after enough hits).
        Index(
            "ix_messages_search",
            text("to_tsvector('simple'::regconfig, text)"),
            postgresql_using="gin",
        ),
        # Read-status updates only look at a chat's unread messages.
        Index(
            "ix_messages_chat_id_seq_unread",
            "chat_id",
            "seq",
            postgresql_where=text("NOT is_read"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("chats.id", ondelete="CASCADE"))
    sender_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    # NULL exactly when the message was deleted for everyone.
    text: Mapped[str | None] = mapped_column(Text)
    # The send time, taken while the chat row is locked so time order agrees with seq order.
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )
    is_read: Mapped[bool] = mapped_column(Boolean, server_default="false")
    client_msg_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    seq: Mapped[int] = mapped_column(BigInteger)
    # The number of the message's latest change in its chat (see chats.last_pts).
    pts: Mapped[int] = mapped_column(BigInteger)
    reply_to_seq: Mapped[int | None] = mapped_column(BigInteger)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Reaction(Base):
    """A member's one reaction to a message."""

    __tablename__ = "reactions"
    __table_args__ = (PrimaryKeyConstraint("message_id", "user_id"),)

    message_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("messages.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    emoji: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )
