"""The only emitter: each published event, after its commit, becomes Socket.IO emits.

Payloads are built from the models in realtime/schemas.py, which docs/asyncapi.yaml is
generated from, so the document and the wire cannot disagree."""

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
    MessageUpdated,
    PresenceChanged,
    PresenceIntroduced,
    PresenceSnapshot,
    PresenceStatus,
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


def _json(payload: BaseModel) -> dict[str, Any]:
    return payload.model_dump(mode="json")


def _presence(status: PresenceStatus) -> dict[str, Any]:
    return _json(
        PresenceOut(user_id=status.user_id, online=status.online, last_seen=status.last_seen)
    )


class SocketPublisher:
    def __init__(self, server: socketio.AsyncServer) -> None:
        self._sio = server

    async def publish(self, event: Event) -> None:
        emit = self._sio.emit
        match event:
            case MessageSent():
                await emit("message", event.message, room=chat_room(event.chat_id))
            case MessageUpdated():
                await emit("message_updated", event.message, room=chat_room(event.chat_id))
            case MessagesRead():
                payload = MessagesReadOut(
                    chat_id=event.chat_id, message_ids=event.message_ids, up_to_seq=event.up_to_seq
                )
                await emit("messages_read", _json(payload), room=user_room(event.sender_id))
            case ReadReceipt():
                receipt = ReadReceiptOut(
                    chat_id=event.chat_id, user_id=event.user_id, last_read_seq=event.last_read_seq
                )
                await emit("read_receipt", _json(receipt), room=chat_room(event.chat_id))
            case Typing():
                typing = TypingOut(chat_id=event.chat_id, user_id=event.user_id)
                await emit(
                    "typing", _json(typing), room=chat_room(event.chat_id), skip_sid=event.origin
                )
            case ChatJoined():
                for user_id in event.user_ids:
                    await self._membership(JOIN_ORDER, user_id, event.chat_id)
                    chat = event.chat_for.get(user_id, event.chat)
                    await emit("chat_joined", chat, room=user_room(user_id))
                if event.announce_to_chat:
                    for user_id in event.user_ids:
                        added = MemberChangeOut(chat_id=event.chat_id, user_id=user_id)
                        await emit("member_added", _json(added), room=chat_room(event.chat_id))
            case ChatLeft():
                removed = MemberChangeOut(chat_id=event.chat_id, user_id=event.user_id)
                await emit("member_removed", _json(removed), room=chat_room(event.chat_id))
                await self._membership(LEAVE_ORDER, event.user_id, event.chat_id)
                left = ChatLeftOut(chat_id=event.chat_id)
                await emit("chat_left", _json(left), room=user_room(event.user_id))
            case ChatDeleted():
                left = ChatLeftOut(chat_id=event.chat_id)
                for user_id in event.user_ids:
                    await self._membership(LEAVE_ORDER, user_id, event.chat_id)
                    await emit("chat_left", _json(left), room=user_room(user_id))
            case ChatUpdated():
                await emit("chat_updated", event.chat, room=chat_room(event.chat_id))
            case PresenceChanged():
                status = PresenceStatus(event.user_id, event.online, event.last_seen)
                for chat_id in event.chat_ids:
                    await emit("presence", _presence(status), room=chat_room(chat_id))
            case PresenceIntroduced():
                for status in event.statuses:
                    await emit("presence", _presence(status), room=user_room(event.user_id))
            case PresenceSnapshot():
                for status in event.statuses:
                    # The socket is connected to this process: one emit per contact
                    # through Redis would reach every process, for nothing.
                    await emit(
                        "presence", _presence(status), to=event.connection_id, ignore_queue=True
                    )

    async def _membership(self, order: str, user_id: int, chat_id: int) -> None:
        await send_membership_order(self._sio, order, user_id=user_id, chat_id=chat_id)
