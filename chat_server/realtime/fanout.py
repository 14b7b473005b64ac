"""An emit's packet written to its recipients' queues in turn, not by a task each.

python-socketio's AsyncManager.emit starts one task per recipient and waits for all of
them. Writing to an engine.io queue never blocks (SocketServer bounds the queues by
closing a session that falls behind), so those tasks only cost: ten task switches for
a message to a group of ten, and, because the emit returns only after every task ran,
each recipient's writer woke up to write one packet per message. Written in turn, the
messages a lane publishes one after another are all queued before any writer runs, and
each writer writes them in one wake-up (docs/benchmarks.md has the counts).

Everything else is the library's: emits with a callback, the packet encoding, and, in
ChatRedisManager, the publishing to other processes.
"""

import logging
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet

logger = logging.getLogger(__name__)


class InlineFanoutManager(socketio.AsyncManager):  # type: ignore[misc]
    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if callback is not None or namespace not in self.rooms:
            await super().emit(
                event, data, namespace, room, skip_sid, callback=callback, to=to, **kwargs
            )
            return
        room = to or room
        # The library's rules: a tuple is several arguments, None is none.
        arguments = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        skipped = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, *arguments]
        ).encode()
        frames = [
            eio_packet.Packet(eio_packet.MESSAGE, part)
            for part in (encoded if isinstance(encoded, list) else [encoded])
        ]
        # get_participants iterates over a copy: a recipient leaving meanwhile is harmless.
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skipped:
                continue
            for frame in frames:
                try:
                    await self.server._send_eio_packet(eio_sid, frame)
                except Exception:
                    # As with the library's tasks: one recipient's failure (a socket
                    # closed since the room was read) does not keep it from the others.
                    logger.debug("writing %r to %s failed", event, eio_sid, exc_info=True)
                    break
