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

    name: GroupName = Field(description="1 to 100 characters, not blank", examples=["Team"])
    member_ids: list[UserId] = Field(
        default_factory=list,
        max_length=1000,
        description="Who else is in it (you are added as its creator)",
        examples=[[2, 3, 4]],
    )


class GroupRename(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: GroupName = Field(description="1 to 100 characters, not blank", examples=["Team Berlin"])


class MemberAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: UserId = Field(description="The user to add", examples=[4])


class GroupOut(BaseModel):
    """A group, its chat and its members."""

    id: int = Field(description="The group's id (for the /groups routes)", examples=[1])
    name: str = Field(description="The group's name", examples=["Team"])
    creator_id: int = Field(
        description="Who created it: only they rename, delete, add and remove", examples=[1]
    )
    chat_id: int = Field(description="Its chat's id (for messages, history, sockets)", examples=[2])
    created_at: datetime = Field(
        description="When it was created (UTC)", examples=["2026-05-01T08:10:00Z"]
    )
    last_seq: int = Field(description="The seq of its chat's latest message", examples=[240])
    members: list[MemberOut] = Field(description="Everyone in the group, the creator included")
