"""message search: a GIN index over (chat, words) of every message that is not deleted

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 05:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # btree_gin lets a GIN index hold chat_id next to the words. It is a trusted
    # extension (PostgreSQL 13+): the database owner may create it without superuser.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.execute(
        "CREATE INDEX ix_messages_search ON messages"
        " USING gin (chat_id, to_tsvector('simple'::regconfig, text))"
        " WHERE deleted_at IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_messages_search")
    # The extension stays: other objects of the database may have come to use it.
