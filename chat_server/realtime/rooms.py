"""Room names, and moving a user's live sockets in and out of chat rooms.

python-socketio has no "every socket of this user, on every process, joins that room".
We send that order through the client manager itself (Redis pub/sub when several
processes run), so it reaches every process in order with the messages that follow.
"""

from typing import Any

import socketio

NAMESPACE = "/"
JOIN_ORDER = "chat_server:join_chat"
LEAVE_ORDER = "chat_server:leave_chat"
MEMBERSHIP_ORDERS = (JOIN_ORDER, LEAVE_ORDER)


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def chat_room(chat_id: int) -> str:
    return f"chat:{chat_id}"


async def apply_membership_order(server: socketio.AsyncServer, order: str, data: Any) -> None:
    """Move this process's sockets of `data['user_id']` into or out of the chat room."""
    room = chat_room(int(data["chat_id"]))
    sids = [
        sid for sid, _ in server.manager.get_participants(NAMESPACE, user_room(data["user_id"]))
    ]
    for sid in sids:
        if order == JOIN_ORDER:
            await server.enter_room(sid, room, namespace=NAMESPACE)
        else:
            await server.leave_room(sid, room, namespace=NAMESPACE)


class ChatRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    """The Redis manager, plus the membership orders above (carried as emits)."""

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get("event") in MEMBERSHIP_ORDERS:
            # The manager wraps emit arguments in a list.
            data = message["data"]
            await apply_membership_order(
                self.server, message["event"], data[0] if isinstance(data, list) else data
            )
            return
        await super()._handle_emit(message)


async def send_membership_order(
    server: socketio.AsyncServer, order: str, *, user_id: int, chat_id: int
) -> None:
    data = {"user_id": user_id, "chat_id": chat_id}
    if isinstance(server.manager, ChatRedisManager):
        await server.manager.emit(order, data, namespace=NAMESPACE)
    else:
        await apply_membership_order(server, order, data)
