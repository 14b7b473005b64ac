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


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    chat_id: int
    sender_id: int
    seq: int
    text: str
    created_at: datetime
    is_read: bool
    client_msg_id: uuid.UUID


class SendMessageIn(BaseModel):
    """REST body: the id may instead come in the Idempotency-Key header."""

    model_config = ConfigDict(extra="forbid")

    text: MessageText
    client_msg_id: uuid.UUID | None = None


class ReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: Seq


class ReadOut(BaseModel):
    chat_id: int
    last_read_seq: int


class SocketSendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chat_id: ChatId
    text: MessageText
    client_msg_id: uuid.UUID


class SocketReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chat_id: ChatId
    seq: Seq


class SocketChatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chat_id: ChatId


class SocketSyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chat_id: ChatId
    after_seq: Seq = 0
    limit: Annotated[StrictInt, Field(ge=1, le=200)] = 100
