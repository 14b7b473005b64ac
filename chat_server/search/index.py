"""The search index: which words of a message are searchable, and the index over them.

The `simple` text-search configuration only splits text into words and lower-cases
them, the same way for every language: no stemming (which would need the language of
each message) and no stop words (which would make "to be" unsearchable). Prefix
queries (`'прив':*`) then match word beginnings. Lower-casing follows the database's
LC_CTYPE, which is C.UTF-8 on the embedded server and in the Docker image, so
Cyrillic, Greek and other scripts fold case too.
"""

from typing import Any

from sqlalchemy import ColumnElement, Index, func, literal_column
from sqlalchemy.orm import InstrumentedAttribute

from chat_server.messages.models import Message

SEARCH_CONFIG: ColumnElement[Any] = literal_column("'simple'::regconfig")


def searchable_words(
    text: ColumnElement[Any] | InstrumentedAttribute[str | None],
) -> ColumnElement[Any]:
    """The words of a text as PostgreSQL indexes them; a query must use this very
    expression for the index to serve it."""
    return func.to_tsvector(SEARCH_CONFIG, text)


# A GIN index over the words of every message. A tombstone has no text, so no words:
# it leaves the index as it is deleted. Not partial, so that ANALYZE keeps statistics of
# the words and the planner can tell a rare word (look it up in this index) from a
# common one (walk the newest messages and stop after `limit` hits).
MESSAGE_SEARCH_INDEX = Index(
    "ix_messages_search", searchable_words(Message.text), postgresql_using="gin"
)
