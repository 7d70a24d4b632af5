"""Schedule expressions: SageMaker's ``cron(...)``, ``rate(...)`` for any interval, ``NOW``.

SageMaker's cron has six fields (minute hour day-of-month month day-of-week year) with ``?``
for "any"; it is matched by ``cronsim`` after dropping the year and reading ``?`` as ``*``.
``rate(N seconds|minutes|hours|days)`` runs at the schedule's creation and every N units
after (not limited to whole hours); ``NOW`` runs once, at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

RATE = re.compile(r"^rate\(\s*(\d+)\s+(second|minute|hour|day)s?\s*\)$", re.IGNORECASE)
CRON = re.compile(r"^cron\((.+)\)$", re.IGNORECASE)
UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
FORMS = "cron(min hour day month weekday year), rate(N minutes) or NOW"


@dataclass(frozen=True)
class Schedule:
    """A parsed expression: ``kind`` is cron, rate or now."""

    kind: str
    cron: str = ""  # five fields, for cronsim
    seconds: float = 0.0  # rate's interval

    def next_after(self, after: float, origin: float) -> float | None:
        """The first run time strictly after ``after`` (epoch seconds); ``origin`` is when
        the schedule began (rates count from it). None: no more runs (NOW, once run)."""
        if self.kind == "now":
            return origin if after < origin else None
        if self.kind == "rate":
            steps = max(0, int((after - origin) // self.seconds) + 1)
            return origin + steps * self.seconds
        from cronsim import CronSim

        start = datetime.fromtimestamp(int(after), UTC)
        return next(CronSim(self.cron, start)).timestamp()

    def interval(self, at: float, origin: float) -> float:
        """The seconds between the run at ``at`` and the one before it (a window's default)."""
        if self.kind == "rate":
            return self.seconds
        if self.kind == "now":
            return 3600.0
        nxt = self.next_after(at, origin) or at + 3600.0
        return max(nxt - at, 1.0)


def parse_schedule(text: str) -> Schedule:
    """Parse a schedule expression. Raises ValueError naming the allowed forms."""
    raw = (text or "").strip()
    if raw.upper() == "NOW":
        return Schedule("now")
    m = RATE.match(raw)
    if m:
        n = int(m.group(1))
        if n < 1:
            raise ValueError(f"{text!r}: a rate must be at least 1")
        return Schedule("rate", seconds=float(n * UNITS[m.group(2).lower()]))
    m = CRON.match(raw)
    if not m:
        raise ValueError(f"schedule {text!r} is not one of {FORMS}")
    fields = m.group(1).split()
    if len(fields) not in (5, 6):
        raise ValueError(
            f"{text!r}: cron takes 6 fields (minute hour day month weekday year), got {len(fields)}"
        )
    five = " ".join("*" if f == "?" else f for f in fields[:5])
    from cronsim import CronSim, CronSimError

    try:
        CronSim(five, datetime.now(UTC))
    except CronSimError as e:
        raise ValueError(f"{text!r}: {e}") from None
    return Schedule("cron", cron=five)
