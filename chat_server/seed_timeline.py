"""Turn a seed script (seed_script.py) into timed lines: who says what, how long before the
anchor. Pure and deterministic: the same script gives the same times on every run."""

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chat_server.seed_script import ANCHOR_CLOCK

_DAY = re.compile(r"^\[(-?\d+)\]$")
_LINE = re.compile(
    r"^(?:(?P<clock>\d{1,2}:\d{2})\s+|\+(?P<pause>\d+)(?P<unit>[smh])\s+)?(?P<speaker>\w+):\s+(?P<text>.+)$"
)
_UNITS = {"s": 1, "m": 60, "h": 3600}


@dataclass(frozen=True)
class TimedLine:
    speaker: str
    text: str
    before_anchor: timedelta  # how long before the anchor it was sent (>= 0)


def script_end(anchor: datetime) -> datetime:
    """When the script's last day reaches ANCHOR_CLOCK: the latest such moment (in UTC) not
    after `anchor`. So the script's clock times are UTC times (office hours for Europe),
    and nothing is dated after the anchor."""
    midnight = anchor.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end = midnight + timedelta(seconds=_clock_seconds(ANCHOR_CLOCK))
    return end if end <= anchor else end - timedelta(days=1)


def _clock_seconds(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def _reply_gap(rng: random.Random, text: str, same_speaker: bool) -> float:
    """Seconds between two lines: typing time, plus reading and thinking for a reply."""
    typing = 0.3 * len(text)
    if same_speaker:
        return 3 + typing + rng.uniform(0, 8)
    return 8 + typing + rng.uniform(5, 50)


def timed_lines(script: str, *, salt: str) -> list[TimedLine]:
    """The script's lines with their send times, strictly increasing; raises ValueError for
    a script whose times go backwards or run past the anchor."""
    rng = random.Random(salt)  # a str seed is hashed the same way on every run
    anchor = _clock_seconds(ANCHOR_CLOCK)
    day: int | None = None
    at: float | None = None  # seconds relative to the anchor (negative: before it)
    speaker = ""
    lines: list[TimedLine] = []
    for raw in script.strip().splitlines():
        raw = raw.strip()
        if not raw:
            continue
        if marker := _DAY.match(raw):
            day = int(marker.group(1))
            continue
        line = _LINE.match(raw)
        if line is None or day is None:
            raise ValueError(f"not a script line (or no [day] above it): {raw!r}")
        text = line.group("text").replace("\\n", "\n")
        previous = at
        if line.group("clock"):
            at = day * 86_400 + _clock_seconds(line.group("clock")) - anchor + rng.randint(0, 50)
        elif at is None:
            raise ValueError(f"the first line needs a clock time: {raw!r}")
        elif line.group("pause"):
            at += int(line.group("pause")) * _UNITS[line.group("unit")]
        else:
            at += round(_reply_gap(rng, text, line.group("speaker") == speaker))
        if previous is not None and at <= previous:
            raise ValueError(f"starts before the line above it was sent: {raw!r}")
        if at > 0:
            raise ValueError(f"sent after the anchor clock {ANCHOR_CLOCK}: {raw!r}")
        speaker = line.group("speaker")
        lines.append(TimedLine(speaker=speaker, text=text, before_anchor=timedelta(seconds=-at)))
    return lines
