"""Settings from the environment (and `.env`), read only through get_settings()."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# HS256 wants a key of at least its 256-bit output; 32 characters of a random token is that.
MIN_SECRET_LENGTH = 32


class ConfigurationError(Exception):
    """Something the operator has to fix before the server can run (said in one line)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Unset: `serve`, `migrate` and `seed` start the embedded PostgreSQL in DATA_DIR/pg.
    database_url: str | None = None
    jwt_secret: SecretStr | None = None
    jwt_expire_minutes: int = Field(default=24 * 60, ge=1)
    cors_origins: Annotated[list[str], NoDecode] = [
        "http://localhost:8000",
        "http://127.0.0.1:8000",
    ]
    redis_url: str | None = None
    # Prefix of everything this deployment keeps in Redis (pub/sub channel, presence,
    # rate limits), so several deployments can share one Redis.
    redis_namespace: str = "chat_server"
    # With Redis: how long the connections of a process that died keep their users
    # online before the live processes announce those users offline.
    presence_ttl_seconds: float = Field(default=60, gt=0)
    data_dir: Path = Path(".data")
    host: str = "0.0.0.0"
    port: int = 8000
    log_level: str = "info"
    # A `limits` rate string per user, e.g. "30/10seconds" or "5/second;100/minute".
    message_rate_limit: str = "30/10seconds"
    login_rate_limit: str = "10/minute"
    # Per client address: logins to any accounts, and new accounts.
    login_address_rate_limit: str = "60/minute"
    register_rate_limit: str = "20/hour"
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=65536, ge=8)
    db_pool_size: int = Field(default=10, ge=1)
    # Bounds on waiting for PostgreSQL, so a frozen or unreachable database turns a
    # request into an `unavailable` answer instead of a hang: opening a connection, one
    # statement (asyncpg's command_timeout, and PostgreSQL's statement_timeout), and
    # waiting for a free connection of the pool.
    db_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    db_command_timeout_seconds: float = Field(default=3.0, gt=0)
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    # The same for each Redis command (connect, send, reply).
    redis_timeout_seconds: float = Field(default=1.0, gt=0)
    # /ready answers 503 when its checks take longer than this.
    ready_timeout_seconds: float = Field(default=1.0, gt=0)
    # The page and socket.io clients may send at most this many bytes per packet.
    max_socket_payload_bytes: int = 64 * 1024
    # Open Socket.IO sessions per client address (the forwarded one behind a trusted
    # proxy), and how long a session may stay open without completing the connect.
    max_connections_per_address: int = Field(default=50, ge=1)
    socketio_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    # A client that stops reading is disconnected when this many packets wait for it, or
    # when one write to it has waited this long.
    socket_max_queued_packets: int = Field(default=500, ge=1)
    socket_send_timeout_seconds: float = Field(default=10.0, gt=0)
    # Engine.IO's heartbeat: a ping every interval; a client that has sent nothing for
    # interval + timeout is dropped (python-engineio's defaults).
    socket_ping_interval_seconds: float = Field(default=25.0, gt=0)
    socket_ping_timeout_seconds: float = Field(default=20.0, gt=0)
    # On SIGTERM: how long Socket.IO events already being handled may take to be answered
    # before the connections close (new sessions and events are refused meanwhile).
    shutdown_grace_seconds: float = Field(default=3.0, ge=0)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None  # unset: a generated secret is kept in DATA_DIR
        if len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"JWT_SECRET must be at least {MIN_SECRET_LENGTH} characters"
                " (e.g. the output of `openssl rand -hex 32`)"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _asyncpg_driver(cls, value: str | None) -> str | None:
        """Accept the usual postgresql:// form and use asyncpg for it."""
        if not value:
            return None
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value[len(prefix) :]
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
