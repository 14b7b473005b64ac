"""Text PostgreSQL can store: no NUL characters and no lone UTF-16 surrogates (JSON's
"\\u0000" and "\\ud800" decode to both). Checked at the edges, so a bad value is a 422 or
a validation_error ack rather than a database error."""

from typing import Annotated

from pydantic import AfterValidator


def storable(value: str) -> str:
    """The value unchanged, or ValueError for what the database would refuse."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


StorableStr = Annotated[str, AfterValidator(storable)]
