"""The JSON codec of Socket.IO packets.

The standard library's, except for numbers too long to be any id or count: engineio's own
codec raises on them, which makes python-socketio drop the whole packet, so the client
would wait for an ack that never comes. Here such a number becomes a marker that no
payload model accepts, and the event is answered with a `validation_error` ack. Its
digits are never converted (that conversion is what the limit protects against).
"""

import json
from typing import Any

MAX_DIGITS = 100

dumps = json.dumps


class OversizedNumber:
    """A number in a client's packet with more than MAX_DIGITS digits."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"<number of {self.digits} digits>"


def _parse_int(text: str) -> int | OversizedNumber:
    if len(text.lstrip("-")) > MAX_DIGITS:
        return OversizedNumber(len(text))
    return int(text)


def loads(text: str | bytes, **kwargs: Any) -> Any:
    kwargs.setdefault("parse_int", _parse_int)
    return json.loads(text, **kwargs)
