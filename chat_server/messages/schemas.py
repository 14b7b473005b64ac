"""Message shapes; the same models validate REST bodies and socket payloads."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, model_validator

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
MessageSeq = Annotated[StrictInt, Field(ge=1, le=BIGINT_MAX)]
Pts = Annotated[StrictInt, Field(ge=0, le=BIGINT_MAX)]
# The reactions a member may set (one per message); anything else is a validation_error.
ALLOWED_EMOJI = ("👍", "👎", "❤️", "🔥", "😂", "😮", "😢", "🎉", "🙏", "👀")
Emoji = Literal["👍", "👎", "❤️", "🔥", "😂", "😮", "😢", "🎉", "🙏", "👀"]
REPLY_QUOTE_LENGTH = 100
REACTION_USERS_SHOWN = 50


# The examples tell one story: Alice (user 1) and Bob (2) in their private chat 1, and
# the group "Team" (group 1, chat 2) with Carol (3) and Dave (4) too.
CLIENT_MSG_ID_EXAMPLE = "3b241101-e2bb-4255-8caf-4136c566a962"
TEXT_EXAMPLE = "Lunch today? The Thai place at 12:30"


class ReplyToOut(BaseModel):
    """The message a reply answers, quoted so a client can draw it without a request."""

    seq: int = Field(description="Its seq in the same chat", examples=[118])
    sender_id: int = Field(description="Who sent it", examples=[2])
    text: str | None = Field(
        description=f"Its text, cut to {REPLY_QUOTE_LENGTH} characters; null once it was "
        "deleted for everyone",
        examples=["Anyone up for lunch?"],
    )


class ReactionOut(BaseModel):
    """One emoji on a message and who chose it."""

    emoji: str = Field(description="One of the allowed emoji", examples=["👍"])
    count: int = Field(description="How many members chose it", examples=[2])
    user_ids: list[int] = Field(
        description=f"Who chose it, earliest first (at most {REACTION_USERS_SHOWN})",
        examples=[[2, 3]],
    )


class MessageOut(BaseModel):
    """A stored message, in its current state (a tombstone once deleted for everyone)."""

    id: int = Field(description="Unique across all chats", examples=[4711])
    chat_id: int = Field(description="The chat it was sent to", examples=[1])
    sender_id: int = Field(description="The user who sent it", examples=[1])
    seq: int = Field(description="Its place in the chat: 1, 2, 3 … with no gaps", examples=[121])
    pts: int = Field(
        description="The number of its latest change in the chat (send, edit, delete, "
        "reaction): the chat's changes run 1, 2, 3 … with no gaps; catch up with "
        "`after_pts` / `changed_after_pts`",
        examples=[305],
    )
    text: str | None = Field(
        description="1 to 4096 characters, not blank; plain text, never HTML; null once deleted",
        examples=[TEXT_EXAMPLE],
    )
    created_at: datetime = Field(
        description="When the server stored it (UTC)", examples=["2026-05-14T09:30:12.418000Z"]
    )
    edited_at: datetime | None = Field(
        default=None, description="When its text was last edited (null: never)", examples=[None]
    )
    deleted: bool = Field(
        default=False,
        description="Deleted for everyone: a tombstone keeping its id and seq, with no text, "
        "reply or reactions",
        examples=[False],
    )
    reply_to: ReplyToOut | None = Field(
        default=None, description="The message it answers (null: not a reply)"
    )
    reactions: list[ReactionOut] = Field(
        default_factory=list, description="Reactions, the most chosen first"
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
    reply_to_seq: MessageSeq | None = Field(
        default=None,
        description="Answer this message (its seq, in the same chat)",
        examples=[118],
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
    reply_to_seq: MessageSeq | None = Field(
        default=None,
        description="Answer this message (its seq, in the same chat)",
        examples=[118],
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
    """`sync`: catch up after a reconnect: the messages after a seq, or (with `after_pts`)
    every message changed after a pts (new, edited, deleted, reacted to)."""

    model_config = ConfigDict(extra="forbid")

    chat_id: ChatId = Field(description="A chat you are a member of", examples=[1])
    after_seq: Seq | None = Field(
        default=None,
        description="The last seq you have (0 or left out: from the start)",
        examples=[118],
    )
    after_pts: Pts | None = Field(
        default=None,
        description="The highest pts you have seen: returns each message changed since, "
        "once, in its current state, ascending by pts (not with `after_seq`)",
        examples=[300],
    )
    limit: Annotated[StrictInt, Field(ge=1, le=200)] = Field(
        default=100, description="At most this many messages (1 to 200)", examples=[100]
    )

    @model_validator(mode="after")
    def _one_starting_point(self) -> "SocketSyncIn":
        if self.after_seq is not None and self.after_pts is not None:
            raise ValueError("give after_seq or after_pts, not both")
        return self


class EditMessageIn(BaseModel):
    """REST body of an edit."""

    model_config = ConfigDict(extra="forbid")

    text: MessageText = Field(
        description="The new text, 1 to 4096 characters, not blank",
        examples=["Lunch today? The Thai place at 13:00"],
    )


class ReactionIn(BaseModel):
    """REST body of a reaction."""

    model_config = ConfigDict(extra="forbid")

    emoji: Emoji = Field(description="One of the allowed emoji", examples=["👍"])


class SocketEditIn(BaseModel):
    """`edit_message`: change the text of a message you sent."""

    model_config = ConfigDict(extra="forbid")

    chat_id: ChatId = Field(description="A chat you are a member of", examples=[1])
    seq: MessageSeq = Field(description="Your message's seq", examples=[121])
    text: MessageText = Field(
        description="The new text, 1 to 4096 characters, not blank",
        examples=["Lunch today? The Thai place at 13:00"],
    )


class SocketMessageRefIn(BaseModel):
    """`delete_message`: delete a message for everyone (yours, or any in a group you
    created)."""

    model_config = ConfigDict(extra="forbid")

    chat_id: ChatId = Field(description="A chat you are a member of", examples=[1])
    seq: MessageSeq = Field(description="The message's seq", examples=[121])


class SocketReactIn(BaseModel):
    """`react`: set your one reaction on a message, or remove it with `emoji: null`."""

    model_config = ConfigDict(extra="forbid")

    chat_id: ChatId = Field(description="A chat you are a member of", examples=[1])
    seq: MessageSeq = Field(description="The message's seq", examples=[121])
    emoji: Emoji | None = Field(
        description="One of the allowed emoji, or null to remove yours (the key is required)",
        examples=["👍"],
    )
