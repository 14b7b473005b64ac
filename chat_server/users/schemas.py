"""User shapes at the edges."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from chat_server.text_rules import StorableStr


class UserOut(BaseModel):
    """A user account."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="The user's id", examples=[1])
    name: str = Field(description="Display name", examples=["Alice"])
    email: str = Field(
        description="Login email (unique, case-insensitive)", examples=["alice@example.com"]
    )
    created_at: datetime = Field(
        description="When the account was created (UTC)", examples=["2026-05-01T08:00:00Z"]
    )
    last_seen_at: datetime | None = Field(
        default=None,
        description="When they were last online (null: never); whether they are online now "
        "comes through Socket.IO `presence` events",
        examples=["2026-05-14T09:41:07Z"],
    )


MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a forward path
MAX_PASSWORD_LENGTH = 128


class UserCreate(BaseModel):
    name: StorableStr = Field(
        min_length=1,
        max_length=100,
        description="Display name, 1 to 100 characters",
        examples=["Erin"],
    )
    email: EmailStr = Field(
        max_length=MAX_EMAIL_LENGTH,
        description="Your login; unique, case-insensitively",
        examples=["erin@example.com"],
    )
    password: StorableStr = Field(
        min_length=8,
        max_length=MAX_PASSWORD_LENGTH,
        description="8 to 128 characters; stored only as an argon2 hash",
        examples=["correct horse battery"],
    )

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("name must not be blank")
        return value
