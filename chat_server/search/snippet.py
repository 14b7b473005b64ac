"""The text around a hit with the matched words marked, safe to render as HTML."""

import html
import re

CONTEXT_BEFORE = 40
SNIPPET_LENGTH = 160
ELLIPSIS = "…"
_WORD = re.compile(r"\w+")


def snippet(text: str, words: list[str]) -> str:
    """HTML-escaped text around the first match, each matched word (or the matched
    prefix of a longer word) in <mark>…</mark>. Every character of the message is
    escaped, so only the server's own <mark> tags are markup."""
    matches = [span for word in _WORD.finditer(text) if (span := _match(word, words))]
    start, end = _window(text, matches[0][0] if matches else 0)
    parts: list[str] = [ELLIPSIS] if start > 0 else []
    position = start
    for match_start, match_end in matches:
        if match_start < start or match_end > end:
            continue
        parts.append(html.escape(text[position:match_start]))
        parts.append("<mark>" + html.escape(text[match_start:match_end]) + "</mark>")
        position = match_end
    parts.append(html.escape(text[position:end]))
    if end < len(text):
        parts.append(ELLIPSIS)
    return "".join(parts)


def _match(word: re.Match[str], words: list[str]) -> tuple[int, int] | None:
    """The span of `word` that a query word matches as a prefix, longest first."""
    folded = word.group().lower()
    best = max((w for w in words if folded.startswith(w)), key=len, default=None)
    if best is None:
        return None
    # Lower-casing can change a word's length (İ → i̇); then mark the whole word.
    length = len(best) if len(folded) == len(word.group()) else len(word.group())
    return word.start(), word.start() + length


def _window(text: str, first_match: int) -> tuple[int, int]:
    """A stretch of at most SNIPPET_LENGTH characters starting a little before the
    first match, cut at spaces where it can be."""
    if len(text) <= SNIPPET_LENGTH:
        return 0, len(text)
    start = max(0, first_match - CONTEXT_BEFORE)
    if start > 0:
        space = text.find(" ", start, first_match)
        start = space + 1 if space != -1 else start
    end = min(len(text), start + SNIPPET_LENGTH)
    if end < len(text):
        space = text.rfind(" ", first_match, end)
        end = space if space > first_match else end
    return start, end
