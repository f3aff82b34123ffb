"""Checks of the ``moderators:`` mappings of extraction files (study and effect level).

The schema fixes the form (lower-case slug names; a number, true/false or a
short label); here are its one-line messages and the checks a schema cannot
express:

- all effects of one sample (unit) agree on every moderator, after an effect's own
  ``moderators:`` override the study's (the meta-regression is on the units);
- across the corpus a moderator is coded one way (number, true/false or label);
- no two names differ only by case or punctuation (``uk_sample`` and ``uksample``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from analysis.inputs.extraction import Problem

KIND_WORDS = {"number": "a number", "boolean": "true/false", "label": "a text label"}


def kind(value: Any) -> str:
    """ "number", "boolean" or "label" (valid moderator values only)."""
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, (int, float)) else "label"


def schema_problem(error, name: str, study: str, effect_id: str, field: str) -> Problem:
    """The one-line message for a schema error inside ``moderators:``."""
    if error.validator in ("pattern", "maxLength") and not field.count("."):
        return Problem(name, study, effect_id, field, f"moderator name {error.instance!r} is not allowed",
                       "use a lower-case slug of letters, digits and '_' (e.g. uk_sample), at most 40 characters")  # fmt: skip
    value = error.instance
    if isinstance(value, str):
        fix = "write a short label of letters, digits, spaces and . _ + - (at most 60 characters, one line)"
    else:
        fix = "write a number (slope), true/false or a short text label (subgroups); lists, mappings and empty values are not moderators"  # noqa: E501
    shown = "an empty value" if value is None else repr(value)[:60]
    return Problem(name, study, effect_id, field, f"{shown} is not a moderator value", fix)


def _resolved(data: dict, effect: dict) -> dict:
    study_level = data.get("moderators") if isinstance(data.get("moderators"), dict) else {}
    own = effect.get("moderators") if isinstance(effect.get("moderators"), dict) else {}
    return {**study_level, **own}


def _same(a: Any, b: Any) -> bool:
    return kind(a) == kind(b) and a == b


def document_problems(data: dict, name: str, study: str) -> list[Problem]:
    """Effects of one sample that disagree on a moderator."""
    problems: list[Problem] = []
    first: dict[tuple[str, str], tuple[str, Any]] = {}  # (sample, moderator) -> (effect id, value)
    effects = [e for e in data.get("effects") or [] if isinstance(e, dict)]
    names = sorted({key for effect in effects for key in _resolved(data, effect)})
    for effect in effects:
        effect_id, sample = str(effect.get("id", "")), str(effect.get("sample", ""))
        found = _resolved(data, effect)
        for moderator in names:
            value = found.get(moderator)
            seen = first.setdefault((sample, moderator), (effect_id, value))
            if (seen[1] is None) != (value is None) or (value is not None and not _same(seen[1], value)):
                unit = f"sample {sample!r}" if sample else "the study's sample"
                problems.append(Problem(
                    name, study, effect_id, f"moderators.{moderator}",
                    f"is {_shown(value)} but {_shown(seen[1])} for effect {seen[0]} of the same {unit}",
                    "give every effect of one sample the same value (or code it once in the study's "
                    "`moderators:`); effects that differ belong to different samples",
                ))  # fmt: skip
    return problems


def _shown(value: Any) -> str:
    return "not given" if value is None else repr(value).replace("True", "true").replace("False", "false")


def _folded(moderator: str) -> str:
    """The name without case and punctuation: names equal here are the same moderator."""
    return re.sub(r"[^a-z0-9]", "", moderator.lower())


class CorpusModerators:
    """The corpus check of moderators, one document at a time: per moderator name (folded)
    its first use and the problems of the later ones, nothing else of the documents."""

    def __init__(self) -> None:
        # folded -> (name, file, kind) of the first use, and the problems of the later uses
        self.first: dict[str, tuple[str, str, str]] = {}
        self.found: dict[str, list[Problem]] = {}

    def add(self, path: Path, data: dict) -> None:
        study = str(data.get("study", path.stem))
        places = [("", data.get("moderators"))]
        places += [
            (str(e.get("id", "")), e.get("moderators"))
            for e in data.get("effects") or []
            if isinstance(e, dict)
        ]
        for effect_id, found in places:
            for moderator, value in (found or {}).items() if isinstance(found, dict) else []:
                self._use(str(moderator), str(path), study, effect_id, value)

    def _use(self, moderator: str, file: str, study: str, effect_id: str, value: Any) -> None:
        folded = _folded(moderator)
        if folded not in self.first:
            self.first[folded] = (moderator, file, kind(value))
            self.found[folded] = []
            return
        spelled, first_file, kinds = self.first[folded]
        if moderator != spelled:
            self.found[folded].append(Problem(file, study, effect_id, f"moderators.{moderator}",
                                              f"differs from the moderator {spelled!r} of {first_file} only by case or punctuation",
                                              f"spell it {spelled} (one name per moderator)"))  # fmt: skip
        elif kind(value) != kinds:
            self.found[folded].append(Problem(file, study, effect_id, f"moderators.{moderator}",
                                              f"is {KIND_WORDS[kind(value)]} here but {KIND_WORDS[kinds]} in {first_file}",
                                              "code a moderator the same way in every file"))  # fmt: skip

    def problems(self) -> list[Problem]:
        return [problem for key in sorted(self.found) for problem in self.found[key]]


def corpus_problems(documents: list[tuple[Path, dict]]) -> list[Problem]:
    """Names that differ only by case or punctuation, and a moderator coded two ways."""
    check = CorpusModerators()
    for path, data in documents:
        check.add(path, data)
    return check.problems()


# ---------------------------------------------------------------- one table cell
# A release's extractions.csv and a `review import` sheet hold a study's or an
# effect's moderators in one cell: "uk_sample=true; year_of_data=2008; type=trust".


def moderators_text(found: dict) -> str:
    """One cell for a moderators mapping (names in file order; true/false spelled so)."""
    return "; ".join(f"{name}={_shown(value).strip(chr(39))}" for name, value in found.items())


def parse_moderators(text: str) -> dict:
    """The mapping of one cell; ValueError (message, fix) when a part is not ``name=value``."""
    found: dict[str, Any] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        name, equals, raw = (x.strip() for x in part.partition("="))
        if not equals or not name or not raw:
            raise ValueError(f"{part!r} is not name=value", "write moderators as name=value; name=value")
        if raw.lower() in ("true", "false"):
            found[name] = raw.lower() == "true"
            continue
        try:
            number = float(raw)
        except ValueError:
            found[name] = raw
            continue
        found[name] = int(number) if number.is_integer() and re.fullmatch(r"[+-]?\d+", raw) else number
    return found
