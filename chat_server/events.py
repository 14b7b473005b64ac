"""What services publish after a commit, and who may listen.

Services build these plain events and `publish` them once their transaction has
committed; the real-time publisher turns each into Socket.IO emits. Payloads are
JSON-ready dicts so any transport can carry them.
"""

from dataclasses import dataclass, field
from typing import Any, Protocol

Json = dict[str, Any]


@dataclass(frozen=True)
class MessageSent:
    chat_id: int
    message: Json


@dataclass(frozen=True)
class MessageUpdated:
    """A stored message changed (edited, deleted for everyone, reacted to): its new state."""

    chat_id: int
    message: Json


@dataclass(frozen=True)
class MessagesRead:
    """Messages of one sender that have just become read by every other member."""

    chat_id: int
    sender_id: int
    message_ids: list[int]
    up_to_seq: int


@dataclass(frozen=True)
class ReadReceipt:
    """A member's watermark moved forward."""

    chat_id: int
    user_id: int
    last_read_seq: int


@dataclass(frozen=True)
class ChatJoined:
    """`user_ids` joined the chat (a new chat, or members added to a group)."""

    chat_id: int
    user_ids: list[int]
    chat: Json
    announce_to_chat: bool = True
    chat_for: dict[int, Json] = field(default_factory=dict)  # a user's own view, if different


@dataclass(frozen=True)
class ChatLeft:
    """`user_id` left or was removed."""

    chat_id: int
    user_id: int


@dataclass(frozen=True)
class ChatDeleted:
    chat_id: int
    user_ids: list[int]


@dataclass(frozen=True)
class ChatUpdated:
    chat_id: int
    chat: Json


@dataclass(frozen=True)
class Typing:
    chat_id: int
    user_id: int
    # The typist's socket, which does not need to hear itself.
    origin: str | None = None


@dataclass(frozen=True)
class PresenceChanged:
    user_id: int
    online: bool
    last_seen: str
    chat_ids: list[int]


@dataclass(frozen=True)
class PresenceStatus:
    user_id: int
    online: bool
    last_seen: str | None  # now, for someone online; None for someone never seen


@dataclass(frozen=True)
class PresenceSnapshot:
    """A new connection's contacts, online or not, for that connection only."""

    connection_id: str
    statuses: list[PresenceStatus]


@dataclass(frozen=True)
class PresenceIntroduced:
    """New chat-mates' presence, for one user's sockets."""

    user_id: int
    statuses: list[PresenceStatus]


Event = (
    MessageSent
    | MessageUpdated
    | MessagesRead
    | ReadReceipt
    | ChatJoined
    | ChatLeft
    | ChatDeleted
    | ChatUpdated
    | Typing
    | PresenceChanged
    | PresenceSnapshot
    | PresenceIntroduced
)


class Publisher(Protocol):
    async def publish(self, event: Event) -> None: ...


class NullPublisher:
    """For runs without real-time delivery (CLI seed, plain REST tests)."""

    async def publish(self, event: Event) -> None:
        return None


class RecordingPublisher:
    """Keeps every event, for service tests."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, event: Event) -> None:
        self.events.append(event)
