"""What services tell the outside world after a commit, and who may listen.

Services build these plain events; the real-time publisher turns them into Socket.IO
emits. Payloads are JSON-ready dicts so any transport can carry them.
"""

from dataclasses import dataclass, field
from typing import Any, Protocol

Json = dict[str, Any]


@dataclass(frozen=True)
class MessageSent:
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
    chat_id: int
    user_id: int
    last_read_seq: int
    newly_read: list[MessagesRead] = field(default_factory=list)


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
    """`user_id` left or was removed; may complete reads for the remaining members."""

    chat_id: int
    user_id: int
    newly_read: list[MessagesRead] = field(default_factory=list)


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
class PresenceSnapshot:
    """A new connection's contacts, online right now or not (then with when they were
    last seen, if ever), for that connection."""

    connection_id: str
    online_user_ids: list[int]
    as_of: str
    offline_last_seen: dict[int, str | None] = field(default_factory=dict)


Event = (
    MessageSent
    | ReadReceipt
    | ChatJoined
    | ChatLeft
    | ChatDeleted
    | ChatUpdated
    | Typing
    | PresenceChanged
    | PresenceSnapshot
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
