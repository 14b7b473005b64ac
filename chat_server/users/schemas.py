"""User shapes at the edges."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from chat_server.text_rules import StorableStr


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str
    created_at: datetime
    last_seen_at: datetime | None = None


MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a forward path
MAX_PASSWORD_LENGTH = 128


class UserCreate(BaseModel):
    name: StorableStr = Field(min_length=1, max_length=100)
    email: EmailStr = Field(max_length=MAX_EMAIL_LENGTH)
    password: StorableStr = Field(min_length=8, max_length=MAX_PASSWORD_LENGTH)

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("name must not be blank")
        return value
