"""The JSONPath subset SageMaker's batch transform takes for ``input_filter`` / ``output_filter``.

    $                   the whole record
    $.features  $['a']  one field of an object
    $.a.b               a nested field
    $[1:]  $[0,-1]      positions of an array (a CSV row): indices, slices, both: $[0,3:]
    $['id','score']     several fields of an object (an object with those fields)
    $.*  $[*]           every element

A path selects from one record: a JSON value, or a table row whose columns are named (CSV with
a header, Parquet) or only numbered (CSV without one). ``Path.columns(names)`` turns a path into
column positions for the columnar fast path; ``Path.apply(value)`` selects from a JSON value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from raymaker.errors import SpecError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_INT = re.compile(r"-?\d+")


@dataclass(frozen=True)
class Segment:
    """One step: ``names`` / ``items`` (ints or (start, end) slices) / ``wildcard``."""

    names: tuple[str, ...] = ()
    items: tuple = ()
    wildcard: bool = False

    @property
    def single(self) -> bool:
        """Selects one element (navigates into it) rather than a set of them."""
        if self.wildcard:
            return False
        if self.names:
            return len(self.names) == 1
        return len(self.items) == 1 and isinstance(self.items[0], int)


class Path:
    """A compiled path. Build with ``compile_path``."""

    def __init__(self, text: str, segments: list[Segment]):
        self.text = text
        self.segments = segments

    def __repr__(self) -> str:
        return f"Path({self.text!r})"

    @property
    def identity(self) -> bool:
        return not self.segments

    def apply(self, value):
        """Select from a JSON value. Raises SpecError when the record lacks what is named."""
        for n, seg in enumerate(self.segments):
            if not seg.single and n != len(self.segments) - 1:
                raise SpecError(
                    f"{self.text}: only the last step may select several elements"
                )  # pragma: no cover - compile_path already refuses this
            value = _step(value, seg, self.text)
        return value

    def columns(self, names: list[str]) -> list[int]:
        """Column positions this path selects from a row with ``names`` (a CSV row, a table).

        Raises SpecError for a path that goes deeper than one step or names a missing column.
        """
        if not self.segments:
            return list(range(len(names)))
        if len(self.segments) > 1:
            raise SpecError(f"{self.text}: table rows are flat; give one step ($[1:], $['a','b'])")
        seg = self.segments[0]
        if seg.wildcard:
            return list(range(len(names)))
        if seg.names:
            index = {n: i for i, n in enumerate(names)}
            missing = [n for n in seg.names if n not in index]
            if missing:
                raise SpecError(
                    f"{self.text}: no column {', '.join(map(repr, missing))} "
                    f"(columns: {', '.join(names[:12])}{' ...' if len(names) > 12 else ''})"
                )
            return [index[n] for n in seg.names]
        out: list[int] = []
        for item in seg.items:
            out.extend(_positions(item, len(names), self.text))
        return out


def compile_path(text: str | None) -> Path | None:
    """Parse a filter; None and ``$`` select everything. Raises SpecError naming the problem."""
    if text is None:
        return None
    s = text.strip()
    if not s.startswith("$"):
        raise SpecError(f"filter {text!r}: a JSONPath starts with $ (e.g. $, $[1:], $.features)")
    segments: list[Segment] = []
    i = 1
    while i < len(s):
        if s[i] == ".":
            i += 1
            if s[i : i + 1] == "*":
                segments.append(Segment(wildcard=True))
                i += 1
                continue
            m = _NAME.match(s, i)
            if not m:
                raise SpecError(f"filter {text!r}: expected a field name after '.' at {i}")
            segments.append(Segment(names=(m.group(),)))
            i = m.end()
        elif s[i] == "[":
            end = _closing(s, i, text)
            segments.append(_bracket(s[i + 1 : end].strip(), text))
            i = end + 1
        else:
            raise SpecError(f"filter {text!r}: unexpected {s[i]!r} at {i}; use .name or [...]")
    for seg in segments[:-1]:
        if not seg.single:
            raise SpecError(f"filter {text!r}: only the last step may select several elements")
    return Path(s, segments)


def _closing(s: str, start: int, text: str) -> int:
    quote = None
    for j in range(start + 1, len(s)):
        ch = s[j]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "]":
            return j
    raise SpecError(f"filter {text!r}: '[' at {start} is never closed")


def _bracket(body: str, text: str) -> Segment:
    if body == "*":
        return Segment(wildcard=True)
    if not body:
        raise SpecError(f"filter {text!r}: empty []")
    parts = [p.strip() for p in _split_commas(body)]
    if all(p[:1] in "'\"" for p in parts):
        names = []
        for p in parts:
            if len(p) < 2 or p[-1] != p[0]:
                raise SpecError(f"filter {text!r}: unterminated name {p}")
            names.append(p[1:-1])
        return Segment(names=tuple(names))
    items: list = []
    for p in parts:
        if ":" in p:
            lo, _, hi = p.partition(":")
            bounds = []
            for b in (lo.strip(), hi.strip()):
                if b and not _INT.fullmatch(b):
                    raise SpecError(f"filter {text!r}: slice bound {b!r} is not an integer")
                bounds.append(int(b) if b else None)
            items.append(tuple(bounds))
        elif _INT.fullmatch(p):
            items.append(int(p))
        else:
            raise SpecError(
                f"filter {text!r}: {p!r} is neither an index, a slice nor a quoted name"
            )
    return Segment(items=tuple(items))


def _split_commas(body: str) -> list[str]:
    parts, quote, current = [], None, []
    for ch in body:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == ",":
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def _positions(item, size: int, text: str) -> list[int]:
    if isinstance(item, int):
        index = item + size if item < 0 else item
        if not 0 <= index < size:
            raise SpecError(f"{text}: index {item} is out of range for a row of {size} values")
        return [index]
    return list(range(size))[slice(*item)]


def _step(value, seg: Segment, text: str):
    if isinstance(value, dict):
        if seg.wildcard:
            return list(value.values())
        if seg.items:
            raise SpecError(f"{text}: positions select from arrays; this record is an object")
        missing = [n for n in seg.names if n not in value]
        if missing:
            raise SpecError(f"{text}: the record has no field {', '.join(map(repr, missing))}")
        if seg.single:
            return value[seg.names[0]]
        return {n: value[n] for n in seg.names}
    if isinstance(value, list):
        if seg.wildcard:
            return list(value)
        if seg.names:
            raise SpecError(f"{text}: names select from objects; this record is an array")
        picked = [value[i] for item in seg.items for i in _positions(item, len(value), text)]
        return picked[0] if seg.single else picked
    raise SpecError(f"{text}: cannot select from a {type(value).__name__}")
