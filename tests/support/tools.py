"""Programs and services some tests need that a fresh machine may lack: each check skips
with the reason, and under CI (CI=true) fails instead, because CI must provide them."""

import os
import shutil

import pytest
import redis

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def missing(reason: str) -> None:
    """Skip the test for `reason`; under CI a missing tool is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


def require_redis(needed_by: str) -> None:
    try:
        reachable = bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        reachable = False
    if not reachable:
        missing(f"no Redis reachable at {REDIS_URL}; {needed_by} needs one")


def require_node_client(needed_by: str) -> str:
    """The path of `node` when Node.js and the npm socket.io-client (`npm ci`) are here."""
    from tests.support.servers import PROJECT_ROOT

    node = shutil.which("node")
    if node is None or not (PROJECT_ROOT / "node_modules" / "socket.io-client").exists():
        missing(f"Node.js and `npm ci` (socket.io-client) are needed by {needed_by}")
    assert node is not None
    return node
