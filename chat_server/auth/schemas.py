"""Auth shapes."""

from pydantic import BaseModel, EmailStr, Field

from chat_server.text_rules import StorableStr
from chat_server.users.schemas import MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH


class LoginIn(BaseModel):
    # The demo user of `python -m chat_server seed`, so "Try it out" works as shown.
    email: EmailStr = Field(
        max_length=MAX_EMAIL_LENGTH, description="Your login email", examples=["alice@example.com"]
    )
    password: StorableStr = Field(
        min_length=1,
        max_length=MAX_PASSWORD_LENGTH,
        description="Your password",
        examples=["password123"],
    )


class TokenOut(BaseModel):
    access_token: str = Field(
        description="A JWT: send it as `Authorization: Bearer <access_token>`, and as "
        "`auth: {token}` when connecting Socket.IO. It expires (JWT_EXPIRE_MINUTES).",
        examples=[
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwiZXhwIjoxNzc4ODQ5ODEyfQ.9vQ2V0bS3f1p0cE7x5fJ4Z0q1Y8n6m2k3l4j5h6g7f8"
        ],
    )
    token_type: str = Field(default="bearer", description="Always `bearer`", examples=["bearer"])
