"""The `messages` table."""

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
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
    text: Mapped[str] = mapped_column(Text)
    # The send time, taken while the chat row is locked so time order agrees with seq order.
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )
    is_read: Mapped[bool] = mapped_column(Boolean, server_default="false")
    client_msg_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    seq: Mapped[int] = mapped_column(BigInteger)
