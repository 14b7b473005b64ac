"""Every model, imported in one place so Alembic and the app see the whole schema."""

from chat_server.chats.models import Chat, ChatMember
from chat_server.db import Base
from chat_server.groups.models import Group
from chat_server.messages.models import Message, Reaction
from chat_server.users.models import User

__all__ = [
    "Base",
    "Chat",
    "ChatMember",
    "Group",
    "Message",
    "Reaction",
    "User",
]
