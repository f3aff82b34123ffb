"""One problem of one input file, as the one line a reviewer reads."""

from __future__ import annotations

from dataclasses import dataclass


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
        where = [f"study {self.study}"] if self.study else []
        where += [f"effect {self.effect_id}"] if self.effect_id else []
        where += [f"field '{self.field}'"] if self.field else []
        prefix = f"{self.file}: " + (", ".join(where) + ": " if where else "")
        return f"{prefix}{self.message}. Fix: {self.fix}"


class ExtractionError(ValueError):
    """Raised with every problem found, one per line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
