"""The only emitter: turns committed domain events into Socket.IO events."""

import logging
from datetime import UTC, datetime
from typing import Any

import socketio
from pydantic import BaseModel

from chat_server.events import (
    ChatDeleted,
    ChatJoined,
    ChatLeft,
    ChatUpdated,
    Event,
    MessageSent,
    MessagesRead,
    PresenceChanged,
    PresenceSnapshot,
    ReadReceipt,
    Typing,
)
from chat_server.realtime.rooms import (
    JOIN_ORDER,
    LEAVE_ORDER,
    chat_room,
    send_membership_order,
    user_room,
)
from chat_server.realtime.schemas import (
    ChatLeftOut,
    MemberChangeOut,
    MessagesReadOut,
    PresenceOut,
    ReadReceiptOut,
    TypingOut,
)
from chat_server.users.presence import Presence

logger = logging.getLogger(__name__)


class SocketPublisher:
    def __init__(self, server: socketio.AsyncServer, presence: Presence | None = None) -> None:
        self._sio = server
        self._presence = presence

    async def publish(self, event: Event) -> None:
        match event:
            case MessageSent():
                await self._sio.emit("message", event.message, room=chat_room(event.chat_id))
            case ReadReceipt():
                receipt = ReadReceiptOut(
                    chat_id=event.chat_id,
                    user_id=event.user_id,
                    last_read_seq=event.last_read_seq,
                )
                await self._sio.emit("read_receipt", _json(receipt), room=chat_room(event.chat_id))
                await self._messages_read(event.newly_read)
            case Typing():
                await self._sio.emit(
                    "typing",
                    _json(TypingOut(chat_id=event.chat_id, user_id=event.user_id)),
                    room=chat_room(event.chat_id),
                    skip_sid=event.origin,
                )
            case ChatJoined():
                for user_id in event.user_ids:
                    await send_membership_order(
                        self._sio, JOIN_ORDER, user_id=user_id, chat_id=event.chat_id
                    )
                    chat = event.chat_for.get(user_id, event.chat)
                    await self._sio.emit("chat_joined", chat, room=user_room(user_id))
                if event.announce_to_chat:
                    for user_id in event.user_ids:
                        await self._sio.emit(
                            "member_added",
                            _json(MemberChangeOut(chat_id=event.chat_id, user_id=user_id)),
                            room=chat_room(event.chat_id),
                        )
                await self._introduce(event)
            case ChatLeft():
                removed = MemberChangeOut(chat_id=event.chat_id, user_id=event.user_id)
                await self._sio.emit(
                    "member_removed", _json(removed), room=chat_room(event.chat_id)
                )
                await send_membership_order(
                    self._sio, LEAVE_ORDER, user_id=event.user_id, chat_id=event.chat_id
                )
                await self._sio.emit(
                    "chat_left",
                    _json(ChatLeftOut(chat_id=event.chat_id)),
                    room=user_room(event.user_id),
                )
                await self._messages_read(event.newly_read)
            case ChatDeleted():
                for user_id in event.user_ids:
                    await send_membership_order(
                        self._sio, LEAVE_ORDER, user_id=user_id, chat_id=event.chat_id
                    )
                    await self._sio.emit(
                        "chat_left",
                        _json(ChatLeftOut(chat_id=event.chat_id)),
                        room=user_room(user_id),
                    )
            case ChatUpdated():
                await self._sio.emit("chat_updated", event.chat, room=chat_room(event.chat_id))
            case PresenceSnapshot():
                await self._presence_snapshot(event)
            case PresenceChanged():
                for chat_id in event.chat_ids:
                    await self._sio.emit(
                        "presence",
                        _presence(event.user_id, event.online, event.last_seen),
                        room=chat_room(chat_id),
                    )

    async def _introduce(self, event: ChatJoined) -> None:
        """New chat-mates hear of each other: who is online, and when the others were
        last seen. Presence otherwise only moves when someone connects or disconnects."""
        if self._presence is None:
            return
        members = event.chat.get("members", [])
        last_seen = {int(m["user_id"]): m.get("last_seen_at") for m in members}
        try:
            online = await self._presence.online_among(list(last_seen))
        except Exception:  # the join itself is done; dots catch up on the next connect
            logger.exception("presence lookup for chat %s failed", event.chat_id)
            return
        now = datetime.now(UTC).isoformat()
        joiners, up = set(event.user_ids), set(online)
        for receiver in online:  # the others have no socket to tell
            # A joiner hears of everyone; those already there, of the joiners.
            news = set(last_seen) if receiver in joiners else joiners
            for user_id in sorted(news - {receiver}):
                is_online = user_id in up
                seen = now if is_online else last_seen.get(user_id)
                await self._sio.emit(
                    "presence", _presence(user_id, is_online, seen), room=user_room(receiver)
                )

    async def _presence_snapshot(self, event: PresenceSnapshot) -> None:
        online = [(user_id, True, event.as_of) for user_id in event.online_user_ids]
        offline = [(user_id, False, seen) for user_id, seen in event.offline_last_seen.items()]
        for user_id, is_online, last_seen in online + offline:
            await self._sio.emit(
                "presence",
                _presence(user_id, is_online, last_seen),
                to=event.connection_id,
                # The socket connects to this process: one emit per contact through Redis
                # would reach every process, for nothing.
                ignore_queue=True,
            )

    async def _messages_read(self, batches: list[MessagesRead]) -> None:
        for batch in batches:
            read = MessagesReadOut(
                chat_id=batch.chat_id, message_ids=batch.message_ids, up_to_seq=batch.up_to_seq
            )
            await self._sio.emit("messages_read", _json(read), room=user_room(batch.sender_id))


def _json(payload: BaseModel) -> dict[str, Any]:
    return payload.model_dump(mode="json")


def _presence(user_id: int, online: bool, last_seen: str | None) -> dict[str, Any]:
    return _json(PresenceOut(user_id=user_id, online=online, last_seen=last_seen))
