"""A user's query turned into a PostgreSQL prefix query, taken literally."""

from sqlalchemy import Text, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.search.index import searchable_words


async def query_words(session: AsyncSession, q: str) -> list[str]:
    """The words of `q`, split and lower-cased by the same parser that indexed the
    messages, so both sides agree on what a word is in every script. Punctuation,
    emoji and operators are not words: they never reach the query syntax."""
    words = func.unnest(func.tsvector_to_array(searchable_words(literal(q, Text))))
    result = await session.execute(select(words))
    return sorted(set(result.scalars().all()))


def prefix_query(words: list[str]) -> str:
    """`tsquery` text matching messages that have every word, each as a whole word or a
    word prefix. Each word is quoted, so nothing in it is ever read as an operator."""
    return " & ".join(_quoted(word) + ":*" for word in words)


def _quoted(word: str) -> str:
    # tsquery quoting: a quote is doubled, a backslash escapes the next character.
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"
