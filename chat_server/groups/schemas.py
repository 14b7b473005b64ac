"""Group shapes."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from chat_server.chats.schemas import MemberOut, UserId
from chat_server.text_rules import StorableStr


def _strip_not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("name must not be blank")
    return value


GroupName = Annotated[
    StorableStr, Field(min_length=1, max_length=100), AfterValidator(_strip_not_blank)
]


class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: GroupName
    member_ids: list[UserId] = Field(default_factory=list, max_length=1000)


class GroupRename(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: GroupName


class MemberAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: UserId


class GroupOut(BaseModel):
    id: int
    name: str
    creator_id: int
    chat_id: int
    created_at: datetime
    last_seq: int
    members: list[MemberOut]
