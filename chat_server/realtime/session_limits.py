"""Limits on Engine.IO sessions, so clients that never authenticate cannot pile up: at most
`per_address` open sessions per client address, and a session that has not completed the
Socket.IO connect within `connect_timeout` seconds is closed.

The client address is the ASGI scope's, which uvicorn has already replaced with the
forwarded one when the request came through a trusted proxy (`proxy_headers`,
FORWARDED_ALLOW_IPS), so clients behind one proxy are still counted one by one.
"""

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

from chat_server.faults import log_expected

logger = logging.getLogger(__name__)


def client_address(environ: dict[str, Any]) -> str:
    scope = environ.get("asgi.scope") or {}
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class SessionLimits:
    def __init__(
        self,
        *,
        per_address: int,
        connect_timeout: float,
        namespace_connected: Callable[[str], bool],
        close: Callable[[str], Coroutine[Any, Any, None]],
    ) -> None:
        self._per_address = per_address
        self._connect_timeout = connect_timeout
        self._namespace_connected = namespace_connected
        self._close = close
        self._open: Counter[str] = Counter()
        self._address_of: dict[str, str] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def admit(self, eio_sid: str, environ: dict[str, Any]) -> bool:
        """Count a new session; False (refuse it) when its address has too many."""
        address = client_address(environ)
        if self._open[address] >= self._per_address:
            log_expected(
                logger,
                "per-address",
                f"refused a connection from {address}: it has {self._per_address} open"
                " (MAX_CONNECTIONS_PER_ADDRESS)",
            )
            return False
        self._open[address] += 1
        self._address_of[eio_sid] = address
        asyncio.get_running_loop().call_later(self._connect_timeout, self._check, eio_sid)
        return True

    def gone(self, eio_sid: str) -> None:
        address = self._address_of.pop(eio_sid, None)
        if address is None:
            return
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]

    def _check(self, eio_sid: str) -> None:
        if eio_sid not in self._address_of or self._namespace_connected(eio_sid):
            return
        log_expected(
            logger,
            "connect-timeout",
            f"closed a session that sent no Socket.IO connect within {self._connect_timeout:g}s",
        )
        task = asyncio.ensure_future(self._close(eio_sid))
        self._closing.add(task)  # the loop keeps only weak references
        task.add_done_callback(self._closing.discard)
