"""Which browser origins may open a Socket.IO connection: the page's own, plus CORS_ORIGINS."""

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

# engine.io calls it with the request's Origin header (None without one) and its environ.
OriginCheck = Callable[[str | None, dict[str, Any]], bool]

_DEFAULT_PORTS = {"http": 80, "https": 443}
# The ASGI scope of a WebSocket says ws/wss; the page that opened it was http/https.
_PAGE_SCHEME = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def _normalised(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the default port filled in; None if it is no origin."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def request_origin(environ: dict[str, Any]) -> str | None:
    """The origin a page served by this very request's address would have.

    The scheme comes from the ASGI scope, which uvicorn has already corrected from
    X-Forwarded-Proto when the proxy is trusted (FORWARDED_ALLOW_IPS); engine.io's own
    `wsgi.url_scheme` would take that header from anyone. The host is the Host header,
    which a browser always sets to the address it connects to.
    """
    scope = environ.get("asgi.scope") or {}
    scheme = _PAGE_SCHEME.get(str(scope.get("scheme", "http")))
    host = environ.get("HTTP_HOST")
    if scheme is None or not host:
        return None
    return f"{scheme}://{host}"


def same_origin_or(configured: Iterable[str]) -> OriginCheck:
    """The page's own origin is always allowed, so the page works on any address and port
    it is served from; other sites only when listed (CORS_ORIGINS). A DNS-rebinding page
    passes as "its own origin" too, but gains nothing: a socket needs a token, and the
    page cannot read the real origin's. A "*" in the list allows every site."""
    configured = list(configured)
    anyone = "*" in configured
    listed = {key for key in map(_normalised, configured) if key is not None}

    def allowed(origin: str | None, environ: dict[str, Any]) -> bool:
        if not origin:
            return False
        key = _normalised(origin)
        if key is None:
            return False
        if anyone or key in listed:
            return True
        own = request_origin(environ)
        return own is not None and _normalised(own) == key

    return allowed
