"""Chat shapes."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from chat_server.db import BIGINT_MAX
from chat_server.messages.schemas import MessageOut

UserId = Annotated[StrictInt, Field(ge=1, le=BIGINT_MAX)]


class PeerOut(BaseModel):
    """The other person of a private chat."""

    id: int = Field(description="Their user id", examples=[2])
    name: str = Field(description="Their name", examples=["Bob"])


class MemberOut(BaseModel):
    user_id: int = Field(description="The member's user id", examples=[2])
    name: str = Field(description="Their name", examples=["Bob"])
    role: Literal["owner", "member"] = Field(
        description="`owner`: the group's creator; everyone else (and both people of a "
        "private chat) `member`",
        examples=["member"],
    )
    joined_at: datetime = Field(
        description="When they joined the chat (UTC)", examples=["2026-05-01T08:05:00Z"]
    )
    last_read_seq: int = Field(
        description="Their read watermark: they have read every message up to this seq",
        examples=[118],
    )
    last_seen_at: datetime | None = Field(
        default=None,
        description="When they were last online (null: never); whether they are online now "
        "comes through Socket.IO `presence` events",
        examples=["2026-05-14T09:41:07Z"],
    )


class ChatOut(BaseModel):
    """A chat with its members and their read watermarks."""

    id: int = Field(description="The chat id that messages, history and sockets use", examples=[1])
    type: Literal["private", "group"] = Field(
        description="`private`: two people; `group`: a group's chat", examples=["private"]
    )
    name: str | None = Field(
        description="A group's name; a private chat is named after the other person (of "
        "the caller, or of the user an event is sent to)",
        examples=["Bob"],
    )
    group_id: int | None = Field(
        default=None, description="The group's id for a group chat, else null", examples=[None]
    )
    created_at: datetime = Field(
        description="When the chat was created (UTC)", examples=["2026-05-01T08:05:00Z"]
    )
    last_seq: int = Field(
        description="The seq of the chat's latest message (0: none yet)", examples=[121]
    )
    members: list[MemberOut] = Field(description="Everyone in the chat")


class ChatSummaryOut(BaseModel):
    """One row of the caller's chat list."""

    id: int = Field(description="The chat id", examples=[1])
    type: Literal["private", "group"] = Field(
        description="`private`: two people; `group`: a group's chat", examples=["private"]
    )
    name: str = Field(
        description="A group's name, or the other person's name for a private chat",
        examples=["Bob"],
    )
    group_id: int | None = Field(
        default=None, description="The group's id for a group chat, else null", examples=[None]
    )
    peer: PeerOut | None = Field(
        default=None, description="The other person of a private chat, else null"
    )
    created_at: datetime = Field(
        description="When the chat was created (UTC)", examples=["2026-05-01T08:05:00Z"]
    )
    last_seq: int = Field(description="The seq of the chat's latest message", examples=[121])
    last_read_seq: int = Field(description="The caller's read watermark", examples=[118])
    unread_count: int = Field(
        description="Messages from others after the caller's watermark, not counting deleted ones",
        examples=[3],
    )
    last_message: MessageOut | None = Field(
        description="The latest message that is not deleted (null: none)"
    )


class PrivateChatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: UserId = Field(description="The person to talk to", examples=[2])
