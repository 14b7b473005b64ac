"""Message shapes; the same models validate REST bodies and socket payloads."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt

from chat_server.db import BIGINT_MAX
from chat_server.messages.models import MAX_TEXT_LENGTH
from chat_server.text_rules import StorableStr


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("text must not be blank")
    return value


MessageText = Annotated[
    StorableStr, Field(min_length=1, max_length=MAX_TEXT_LENGTH), AfterValidator(_not_blank)
]
ChatId = Annotated[StrictInt, Field(ge=1, le=BIGINT_MAX)]
Seq = Annotated[StrictInt, Field(ge=0, le=BIGINT_MAX)]


# The examples tell one story: Alice (user 1) and Bob (2) in their private chat 1, and
# the group "Team" (group 1, chat 2) with Carol (3) and Dave (4) too.
CLIENT_MSG_ID_EXAMPLE = "3b241101-e2bb-4255-8caf-4136c566a962"
TEXT_EXAMPLE = "Lunch today? The Thai place at 12:30"


class MessageOut(BaseModel):
    """A stored message."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="Unique across all chats", examples=[4711])
    chat_id: int = Field(description="The chat it was sent to", examples=[1])
    sender_id: int = Field(description="The user who sent it", examples=[1])
    seq: int = Field(description="Its place in the chat: 1, 2, 3 … with no gaps", examples=[121])
    text: str = Field(
        description="1 to 4096 characters, not blank; plain text, never HTML",
        examples=[TEXT_EXAMPLE],
    )
    created_at: datetime = Field(
        description="When the server stored it (UTC)", examples=["2026-05-14T09:30:12.418000Z"]
    )
    is_read: bool = Field(
        description="Read by every member but the sender (in a private chat: the other one)",
        examples=[False],
    )
    client_msg_id: uuid.UUID = Field(
        description="The sender's id for it: sending the same id again returns this message",
        examples=[CLIENT_MSG_ID_EXAMPLE],
    )


class SendMessageIn(BaseModel):
    """REST body: the id may instead come in the Idempotency-Key header."""

    model_config = ConfigDict(extra="forbid")

    text: MessageText = Field(
        description="1 to 4096 characters, not blank", examples=[TEXT_EXAMPLE]
    )
    client_msg_id: uuid.UUID | None = Field(
        default=None,
        description="A UUID you make up for this message and reuse on every retry, so it is "
        "stored once (or send it as the Idempotency-Key header; with neither, every call "
        "is a new message)",
        examples=[CLIENT_MSG_ID_EXAMPLE],
    )


class ReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: Seq = Field(
        description="You have read everything up to this seq. A lower value than before "
        "changes nothing; one past the last message stops there.",
        examples=[121],
    )


class ReadOut(BaseModel):
    chat_id: int = Field(description="The chat", examples=[1])
    last_read_seq: int = Field(description="Your read watermark now in force", examples=[121])


class SocketSendIn(BaseModel):
    """`send_message`: store a message and broadcast it to the chat."""

    model_config = ConfigDict(extra="forbid")

    chat_id: ChatId = Field(description="A chat you are a member of", examples=[1])
    text: MessageText = Field(
        description="1 to 4096 characters, not blank", examples=[TEXT_EXAMPLE]
    )
    client_msg_id: uuid.UUID = Field(
        description="A UUID you make up for this message and reuse on every retry: the same "
        "id is stored once, and a retry is acked with `duplicate: true`",
        examples=[CLIENT_MSG_ID_EXAMPLE],
    )


class SocketReadIn(BaseModel):
    """`read`: move your read watermark in a chat."""

    model_config = ConfigDict(extra="forbid")

    chat_id: ChatId = Field(description="A chat you are a member of", examples=[1])
    seq: Seq = Field(description="You have read everything up to this seq", examples=[121])


class SocketChatIn(BaseModel):
    """`typing`: tell the chat you are typing (send it every few seconds while you do)."""

    model_config = ConfigDict(extra="forbid")

    chat_id: ChatId = Field(description="A chat you are a member of", examples=[1])


class SocketSyncIn(BaseModel):
    """`sync`: the messages after a seq, to catch up after a reconnect."""

    model_config = ConfigDict(extra="forbid")

    chat_id: ChatId = Field(description="A chat you are a member of", examples=[1])
    after_seq: Seq = Field(
        default=0, description="The last seq you have (0: from the start)", examples=[118]
    )
    limit: Annotated[StrictInt, Field(ge=1, le=200)] = Field(
        default=100, description="At most this many messages (1 to 200)", examples=[100]
    )
