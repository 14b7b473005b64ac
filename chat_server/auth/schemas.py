"""Auth shapes."""

from pydantic import BaseModel, EmailStr, Field

from chat_server.text_rules import StorableStr
from chat_server.users.schemas import MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH


class LoginIn(BaseModel):
    email: EmailStr = Field(max_length=MAX_EMAIL_LENGTH)
    password: StorableStr = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
