"""One problem of one input file, as the one line a reviewer reads."""

from __future__ import annotations

from dataclasses import dataclass


def shown(text: str, limit: int | None = 80) -> str:
    """Input text as it may appear in a one-line message: escapes for newlines and
    invisible characters (repr's), and at most ``limit`` characters."""
    text = str(text)
    if not text.isprintable():
        text = repr(text)[1:-1]
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Problem:
    """One problem in one extraction file."""

    file: str
    study: str
    effect_id: str
    field: str
    message: str
    fix: str

    def __str__(self) -> str:
        where = [f"study {shown(self.study)}"] if self.study else []
        where += [f"effect {shown(self.effect_id)}"] if self.effect_id else []
        where += [f"field '{shown(self.field)}'"] if self.field else []
        prefix = f"{shown(self.file, None)}: " + (", ".join(where) + ": " if where else "")
        return f"{prefix}{self.message}. Fix: {self.fix}"


class ExtractionError(ValueError):
    """Raised with every problem found, one per line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
