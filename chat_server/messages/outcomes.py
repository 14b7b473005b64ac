"""What the message pipeline answers for each request of a batch."""

import uuid
from dataclasses import dataclass
from typing import ClassVar

from chat_server.messages.schemas import MessageOut


@dataclass(frozen=True)
class Refused:
    """The requester is not a member of the chat, or there is no such chat: nothing was
    done, and nothing about the chat is told."""


@dataclass(frozen=True)
class Send:
    sender_id: int
    text: str
    client_msg_id: uuid.UUID
    reply_to_seq: int | None = None


@dataclass(frozen=True)
class NoSuchReply:
    """The send answers a seq that is no message of the chat: nothing was stored."""


@dataclass(frozen=True)
class Stored:
    """The send was new: its message is stored now and published once."""

    message: MessageOut
    duplicate: ClassVar[bool] = False


@dataclass(frozen=True)
class Duplicate:
    """The sender used this client_msg_id before (or earlier in the same batch): the
    message stored then, which may belong to another chat or carry another text."""

    message: MessageOut
    duplicate: ClassVar[bool] = True


SendOutcome = Stored | Duplicate | NoSuchReply | Refused


@dataclass(frozen=True)
class Edit:
    user_id: int
    seq: int
    text: str


@dataclass(frozen=True)
class Delete:
    user_id: int
    seq: int


@dataclass(frozen=True)
class React:
    user_id: int
    seq: int
    emoji: str | None  # None: remove the user's reaction


Change = Edit | Delete | React


@dataclass(frozen=True)
class Changed:
    """The message after a change; `changed` is False for a no-op (nothing stored, no
    pts taken, nothing published)."""

    message: MessageOut
    changed: bool


ChangeOutcome = Changed | Refused


@dataclass(frozen=True)
class Read:
    user_id: int
    seq: int


@dataclass(frozen=True)
class WatermarkMove:
    """A reader's watermark before and after the batch (`current == previous` when the
    read asked for nothing new). Reads of one user in a batch share one move."""

    user_id: int
    previous: int
    current: int

    @property
    def moved(self) -> bool:
        return self.current > self.previous


ReadOutcome = WatermarkMove | Refused
