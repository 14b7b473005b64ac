"""Search results."""

from pydantic import Field

from chat_server.messages.schemas import MessageOut

MAX_QUERY_LENGTH = 200
MAX_RESULTS = 100
DEFAULT_RESULTS = 20


class SearchHitOut(MessageOut):
    """A message that matches, with where it is and why it matched."""

    chat_name: str = Field(
        description="The group's name, or for a private chat the other person's name",
        examples=["Team"],
    )
    snippet: str = Field(
        description="The text around the match, HTML-escaped, with each matched word (or "
        "matched word prefix) in <mark>…</mark>: render it as HTML, and nothing else in it "
        "is markup",
        examples=["Lunch today? The <mark>Thai</mark> place at 12:30"],
    )
