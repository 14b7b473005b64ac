"""The search index: which words of a message are searchable, and the index over them.

The `simple` text-search configuration only splits text into words and lower-cases
them, the same way for every language: no stemming (which would need the language of
each message) and no stop words (which would make "to be" unsearchable). Prefix
queries (`'прив':*`) then match word beginnings. Lower-casing follows the database's
LC_CTYPE: any UTF-8 locale (the embedded server uses C.UTF-8) folds Cyrillic, Greek
and other scripts too.
"""

from typing import Any

from sqlalchemy import ColumnElement, func, literal_column
from sqlalchemy.orm import InstrumentedAttribute

SEARCH_CONFIG: ColumnElement[Any] = literal_column("'simple'::regconfig")


def searchable_words(
    text: ColumnElement[Any] | InstrumentedAttribute[str | None],
) -> ColumnElement[Any]:
    """The words of a text as PostgreSQL indexes them (ix_messages_search, declared
    with the messages table); a query must use this very expression for the index to
    serve it."""
    return func.to_tsvector(SEARCH_CONFIG, text)
