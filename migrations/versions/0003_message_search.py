"""message search: a GIN index over the words of every message

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
    # A tombstone's text is NULL: it has no words in the index.
    op.execute(
        "CREATE INDEX ix_messages_search ON messages"
        " USING gin (to_tsvector('simple'::regconfig, text))"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_messages_search")
