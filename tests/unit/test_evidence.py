"""The coded evidence itself: every number is real and traceable.

Each coded number must appear in its effect's verbatim quote, each quote must
come from a row of the evidence packet (../shared/evidence/) for that study,
and no effect may be coded from a row the packet marks unverified.
"""

from __future__ import annotations

import csv
import re

import pytest

from analysis.inputs.check import check_inputs
from analysis.inputs.extraction import extraction_files, read_extraction
from tests.conftest import ROOT, SHARED

EVIDENCE = SHARED / "evidence"
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?|\.\d+")


def coded_numbers(effect: dict) -> list[float]:
    """Every number a coder typed for an effect's input form (and n)."""
    values = [
        effect[k]
        for k in ("or", "rr", "yi", "se", "vi", "r", "t", "d", "n", "n1", "n2", "predictors")
        if k in effect
    ]
    values += list(effect.get("ci", []))
    for block in ("counts", "groups"):
        values += list((effect.get(block) or {}).values())
    return [float(v) for v in values]


def quoted_numbers(quote: str) -> set[float]:
    """Magnitudes of the numbers in a quote ('2,984' is 2984; signs and range dashes ignored)."""
    found = set()
    for token in NUMBER.findall(quote):
        plain = token.replace(",", "")
        try:
            found.add(abs(float(plain)))
        except ValueError:
            continue
    return found


def documents():
    docs = []
    for path in extraction_files(ROOT / "extracted"):
        data, problems = read_extraction(path)
        assert not problems, problems
        docs.append((path, data))
    return docs


def quoted_effects():
    return [
        (doc["study"], effect)
        for _, doc in documents()
        for effect in doc.get("effects") or []
        if "quote" in effect
    ]


def packet_rows() -> list[dict]:
    if not EVIDENCE.is_dir():
        pytest.skip(f"evidence packet not found at {EVIDENCE}")
    rows = []
    for name in ("packet.csv", "packet-more.csv"):
        with open(EVIDENCE / name, encoding="utf-8") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


def squash(text: str) -> str:
    return " ".join(str(text).split())


def test_project_inputs_validate(tmp_path):
    files, bibs = check_inputs(ROOT / "extracted", ROOT / "references", tmp_path)
    assert len(files) >= 58 and bibs


def test_every_bibliography_entry_has_an_extraction_file():
    from analysis.inputs.bibliography import read_bibliography

    keys = {r.key for r in read_bibliography(ROOT / "references")}
    studies = {doc["study"] for _, doc in documents()}
    assert keys == studies


@pytest.mark.parametrize(
    ("study", "effect"), quoted_effects(), ids=lambda v: v if isinstance(v, str) else v.get("id")
)
def test_every_coded_number_appears_in_its_quote(study, effect):
    in_quote = quoted_numbers(effect["quote"])
    missing = [x for x in coded_numbers(effect) if not any(abs(abs(x) - q) < 1e-9 for q in in_quote)]
    assert not missing, f"{study}/{effect['id']}: {missing} not in quote {effect['quote']!r}"


def test_quotes_come_from_verified_packet_rows():
    rows = packet_rows()
    for study, effect in quoted_effects():
        candidates = [
            r for r in rows if r["study_key"] == study and squash(effect["quote"]) in squash(r["quote"])
        ]
        assert candidates, f"{study}/{effect['id']}: quote not found in the evidence packet"
        verified = [r for r in candidates if not r["verified"].strip().lower().startswith("no")]
        assert verified, f"{study}/{effect['id']}: coded from a row the packet marks unverified"


def test_unverified_rows_are_never_coded():
    rows = packet_rows()
    unverified = {
        r["study_key"]
        for r in rows
        if r["verified"].strip().lower().startswith("no")
        and not any(
            o["study_key"] == r["study_key"] and not o["verified"].lower().startswith("no") for o in rows
        )
    }
    coded = {doc["study"] for _, doc in documents() if doc["status"] == "coded"}
    assert "sampson1997" in unverified
    assert not unverified & coded


def test_number_check_can_fail():
    """The check above is not vacuous: a number absent from the quote is caught."""
    effect = {"or": 2.75, "ci": [2.11, 3.13], "quote": "(OR = 2.57, 95% CI 2.11-3.13)"}
    assert [
        x
        for x in coded_numbers(effect)
        if not any(abs(x - q) < 1e-9 for q in quoted_numbers(effect["quote"]))
    ] == [2.75]
    assert quoted_numbers("N = 2,984; r = −0.53") == {2984.0, 0.53}


def test_computed_effects_name_their_verified_inputs():
    import yaml

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    hashes = {f"{name} sha256:{digest}" for name, digest in config["atlas"]["sha256"].items()}
    computed = [e for _, doc in documents() for e in doc.get("effects") or [] if "computed" in e]
    assert computed, "the Atlas reanalysis (sca2022) should be committed"
    for effect in computed:
        assert set(effect["computed"]["from"]) <= hashes, effect["computed"]


def test_context_records_are_narrative():
    for _, doc in documents():
        if doc.get("kind") == "context":
            assert doc["status"] == "narrative" and not doc.get("effects")
