"""What the server says over Socket.IO: event payloads and acks. The publisher and the
handlers build them from these models, and docs/asyncapi.yaml is generated from them,
so the document and the wire cannot disagree. (Client payloads: messages/schemas.py.)"""

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from chat_server.messages.schemas import MessageOut

ChatIdOut = Annotated[int, Field(description="The chat", examples=[1])]
TIME_EXAMPLE = "2026-05-14T09:41:07.204118+00:00"


# ---- connecting ----


class ConnectAuth(BaseModel):
    """The `auth` object of the Socket.IO connection."""

    token: str = Field(
        description="The access_token from POST /auth/login or /auth/token",
        examples=["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.signature"],
    )


class ConnectErrorOut(BaseModel):
    """Why the connection was refused (the `connect_error` a client sees)."""

    message: Literal["unauthorized", "internal"] = Field(
        description="`unauthorized`: no, a malformed or an expired token (log in again); "
        "`internal`: the server could not set the connection up (retry later)",
        examples=["unauthorized"],
    )


# ---- acks ----

ErrorCode = Literal[
    "unauthorized",
    "forbidden",
    "not_found",
    "conflict",
    "validation_error",
    "idempotency_conflict",
    "rate_limited",
    "unavailable",
    "internal",
]


class ErrorDetail(BaseModel):
    code: ErrorCode = Field(
        description="What kind of failure: `not_found` also means not a member (or no "
        "such message, or a deleted one); `forbidden` editing or deleting a message that "
        "is not yours; `validation_error` a payload of the wrong shape; "
        "`idempotency_conflict` a client_msg_id already used for another chat, text or "
        "reply_to_seq; `unavailable` the database or Redis is down or did not answer in "
        "time (retry later, with the same client_msg_id)",
        examples=["not_found"],
    )
    message: str = Field(description="What went wrong, for people", examples=["chat not found"])


class ErrorAck(BaseModel):
    """The ack of any event that failed: nothing was stored or changed."""

    ok: Literal[False] = Field(default=False, description="Always false", examples=[False])
    error: ErrorDetail = Field(description="What went wrong")


class OkAck(BaseModel):
    """Done."""

    ok: Literal[True] = Field(default=True, description="Always true", examples=[True])


class SendAck(OkAck):
    """The message as stored."""

    message: MessageOut = Field(description="The stored message, as the chat receives it")
    duplicate: bool = Field(
        description="True when this client_msg_id had been stored before: `message` is "
        "that first one, and it was not broadcast again",
        examples=[False],
    )


class ReadAck(OkAck):
    last_read_seq: int = Field(description="Your read watermark now in force", examples=[121])


class SyncAck(OkAck):
    messages: list[MessageOut] = Field(
        description="The messages after `after_seq`, ascending by seq; or, with "
        "`after_pts`, every message changed after it, each once in its current state, "
        "ascending by pts; at most `limit`"
    )


class MessageAck(OkAck):
    """The message after the change (or as it was, when the change changed nothing)."""

    message: MessageOut = Field(description="The message in its current state")


# ---- events from the server ----


class MessagesReadOut(BaseModel):
    """Some of your messages have just been read by everyone else in the chat."""

    chat_id: ChatIdOut
    message_ids: list[int] = Field(description="Their ids", examples=[[4709, 4710, 4711]])
    up_to_seq: int = Field(description="Everything of yours up to this seq is read", examples=[121])


class ReadReceiptOut(BaseModel):
    """A member's read watermark moved (who has read what, for groups)."""

    chat_id: ChatIdOut
    user_id: int = Field(description="Who read", examples=[2])
    last_read_seq: int = Field(description="They have read up to this seq", examples=[121])


class TypingOut(BaseModel):
    """Someone is typing in a chat (show it for a few seconds)."""

    chat_id: ChatIdOut
    user_id: int = Field(description="Who is typing", examples=[2])


class PresenceOut(BaseModel):
    """A contact came online or went offline (or, on connect, is online or not)."""

    user_id: int = Field(description="Whose presence", examples=[2])
    online: bool = Field(description="Online now (on any tab or device)", examples=[True])
    last_seen: str | None = Field(
        description="ISO 8601 UTC: now when online, else when they were last online (null: never)",
        examples=[TIME_EXAMPLE],
        json_schema_extra={"format": "date-time"},
    )


class ChatLeftOut(BaseModel):
    """You are no longer in this chat (you left, were removed, or it was deleted)."""

    chat_id: ChatIdOut


class MemberChangeOut(BaseModel):
    """Someone joined or left a chat you are in."""

    chat_id: ChatIdOut
    user_id: int = Field(description="Who joined or left", examples=[4])
