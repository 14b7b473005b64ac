"""Chat shapes."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from chat_server.db import BIGINT_MAX
from chat_server.messages.schemas import MessageOut

UserId = Annotated[StrictInt, Field(ge=1, le=BIGINT_MAX)]


class PeerOut(BaseModel):
    id: int
    name: str


class MemberOut(BaseModel):
    user_id: int
    name: str
    role: Literal["owner", "member"]
    joined_at: datetime
    last_read_seq: int
    # When they were last online (null: never); whether they are online now comes
    # through `presence` events.
    last_seen_at: datetime | None = None


class ChatOut(BaseModel):
    """A chat with its members and their read watermarks."""

    id: int
    type: Literal["private", "group"]
    name: str | None
    group_id: int | None = None
    created_at: datetime
    last_seq: int
    members: list[MemberOut]


class ChatSummaryOut(BaseModel):
    """One row of the caller's chat list."""

    id: int
    type: Literal["private", "group"]
    # A group's name, or the other person's name for a private chat.
    name: str
    group_id: int | None = None
    peer: PeerOut | None = None
    created_at: datetime
    last_seq: int
    last_read_seq: int
    unread_count: int
    last_message: MessageOut | None


class PrivateChatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: UserId
