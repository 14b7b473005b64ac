"""Auth shapes."""

from pydantic import BaseModel, EmailStr, Field

from chat_server.text_rules import StorableStr


class LoginIn(BaseModel):
    email: EmailStr
    password: StorableStr = Field(min_length=1, max_length=128)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
