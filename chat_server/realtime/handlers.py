"""Socket.IO event handlers: parse the payload, call a service, ack. Nothing else."""

import logging
from typing import Any

import socketio
from socketio.exceptions import ConnectionRefusedError as SocketRefused

from chat_server.auth.service import authenticate
from chat_server.chats.service import chats_left_since
from chat_server.errors import Unauthorized
from chat_server.faults import is_unavailable, log_unavailable
from chat_server.messages import history as pages
from chat_server.messages import lifecycle, reactions
from chat_server.messages import service as messages
from chat_server.messages.schemas import (
    SocketChatIn,
    SocketEditIn,
    SocketMessageRefIn,
    SocketReactIn,
    SocketReadIn,
    SocketSendIn,
    SocketSyncIn,
)
from chat_server.presence.service import user_connected, user_disconnected
from chat_server.realtime.acks import Ack, ack, run_acked
from chat_server.realtime.rooms import chat_room, user_room
from chat_server.realtime.schemas import MessageAck, OkAck, ReadAck, SendAck, SyncAck
from chat_server.runtime import Runtime

logger = logging.getLogger(__name__)


def register_handlers(sio: socketio.AsyncServer, runtime: Runtime) -> None:
    async def user_id_of(sid: str) -> int:
        session = await sio.get_session(sid)
        user_id: int = session["user_id"]
        return user_id

    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise SocketRefused("unauthorized")
        try:
            async with runtime.sessions() as session:
                user = await authenticate(session=session, settings=runtime.settings, token=token)
            await sio.save_session(sid, {"user_id": user.id})
            await subscribe(sid, user.id)
        except Unauthorized:
            raise SocketRefused("unauthorized") from None
        except Exception as exc:
            # Anything but a refusal would leave the client waiting for an answer that
            # python-socketio never sends.
            if is_unavailable(exc):
                log_unavailable(logger, exc)
            else:
                logger.exception("could not connect a socket")
            await forget(sid)
            raise SocketRefused("internal") from None

    async def subscribe(sid: str, user_id: int) -> None:
        # Join the user room first: a chat joined from now on reaches this socket.
        await sio.enter_room(sid, user_room(user_id))
        async with runtime.sessions() as session:
            chat_ids = await user_connected(
                session=session,
                publisher=runtime.publisher,
                presence=runtime.presence,
                user_id=user_id,
                connection_id=sid,
            )
        for chat_id in chat_ids:
            await sio.enter_room(sid, chat_room(chat_id))
        # A removal that committed after chat_ids were read sent its leave order before
        # this socket was in that room: look again now that it is.
        async with runtime.sessions() as session:
            left = await chats_left_since(session, user_id, chat_ids)
        for chat_id in left:
            await sio.leave_room(sid, chat_room(chat_id))

    async def forget(sid: str) -> None:
        """Undo a half-made connection's presence (python-socketio drops its rooms)."""
        user_id = (await sio.get_session(sid)).get("user_id")
        if user_id is None:
            return
        await disconnect(sid)

    async def disconnect(sid: str, *args: Any) -> None:
        user_id = await user_id_of(sid)
        try:
            async with runtime.sessions() as session:
                await user_disconnected(
                    session=session,
                    publisher=runtime.publisher,
                    presence=runtime.presence,
                    user_id=user_id,
                    connection_id=sid,
                )
        except Exception as exc:
            # Its contacts miss the offline notice; the connection is gone all the same.
            if is_unavailable(exc):
                log_unavailable(logger, exc)
            else:
                logger.exception("could not record a disconnect")

    async def send_message(sid: str, *args: Any) -> Ack:
        async def action(payload: SocketSendIn) -> Ack:
            result = await messages.send_message(
                lanes=runtime.lanes,
                rate_limiter=runtime.rate_limiter,
                sender_id=await user_id_of(sid),
                chat_id=payload.chat_id,
                text=payload.text,
                client_msg_id=payload.client_msg_id,
                reply_to_seq=payload.reply_to_seq,
            )
            return ack(SendAck(message=result.message, duplicate=result.duplicate))

        return await run_acked(SocketSendIn, args, action)

    async def read(sid: str, *args: Any) -> Ack:
        async def action(payload: SocketReadIn) -> Ack:
            last_read_seq = await messages.mark_read(
                lanes=runtime.lanes,
                user_id=await user_id_of(sid),
                chat_id=payload.chat_id,
                seq=payload.seq,
            )
            return ack(ReadAck(last_read_seq=last_read_seq))

        return await run_acked(SocketReadIn, args, action)

    async def typing(sid: str, *args: Any) -> Ack:
        async def action(payload: SocketChatIn) -> Ack:
            async with runtime.sessions() as session:
                await messages.notify_typing(
                    session=session,
                    publisher=runtime.publisher,
                    user_id=await user_id_of(sid),
                    chat_id=payload.chat_id,
                    origin=sid,
                )
            return ack(OkAck())

        return await run_acked(SocketChatIn, args, action)

    async def sync(sid: str, *args: Any) -> Ack:
        async def action(payload: SocketSyncIn) -> Ack:
            if payload.after_pts is not None:
                page = await pages.list_changes(
                    engine=runtime.engine,
                    user_id=await user_id_of(sid),
                    chat_id=payload.chat_id,
                    after_pts=payload.after_pts,
                    limit=payload.limit,
                )
            else:
                page = await pages.list_history(
                    engine=runtime.engine,
                    user_id=await user_id_of(sid),
                    chat_id=payload.chat_id,
                    limit=payload.limit,
                    after_seq=payload.after_seq or 0,
                )
            return ack(SyncAck(messages=page.messages))

        return await run_acked(SocketSyncIn, args, action)

    async def edit_message(sid: str, *args: Any) -> Ack:
        async def action(payload: SocketEditIn) -> Ack:
            message = await lifecycle.edit_message(
                lanes=runtime.lanes,
                rate_limiter=runtime.rate_limiter,
                user_id=await user_id_of(sid),
                chat_id=payload.chat_id,
                seq=payload.seq,
                text=payload.text,
            )
            return ack(MessageAck(message=message))

        return await run_acked(SocketEditIn, args, action)

    async def delete_message(sid: str, *args: Any) -> Ack:
        async def action(payload: SocketMessageRefIn) -> Ack:
            message = await lifecycle.delete_message(
                lanes=runtime.lanes,
                rate_limiter=runtime.rate_limiter,
                user_id=await user_id_of(sid),
                chat_id=payload.chat_id,
                seq=payload.seq,
            )
            return ack(MessageAck(message=message))

        return await run_acked(SocketMessageRefIn, args, action)

    async def react(sid: str, *args: Any) -> Ack:
        async def action(payload: SocketReactIn) -> Ack:
            message = await reactions.set_reaction(
                lanes=runtime.lanes,
                rate_limiter=runtime.rate_limiter,
                user_id=await user_id_of(sid),
                chat_id=payload.chat_id,
                seq=payload.seq,
                emoji=payload.emoji,
            )
            return ack(MessageAck(message=message))

        return await run_acked(SocketReactIn, args, action)

    handlers = {
        "connect": connect,
        "disconnect": disconnect,
        "send_message": send_message,
        "read": read,
        "typing": typing,
        "sync": sync,
        "edit_message": edit_message,
        "delete_message": delete_message,
        "react": react,
    }
    for event, handler in handlers.items():
        sio.on(event, handler=handler)
