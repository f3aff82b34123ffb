"""The coded evidence itself: every number is real and traceable.

Each coded number must appear in its effect's verbatim quote, each quote must
come from a row of the evidence packet (../shared/evidence/) for that study
whose printed estimate, CI and SE are the coded ones, and no effect may be
coded from a row the packet marks unverified. The packet is every file in
PACKETS: the first packet, the first further search and the second search.
"""

from __future__ import annotations

import csv
import re

import pytest

from analysis.inputs.check import check_inputs
from analysis.inputs.extraction import extraction_files, read_extraction
from tests.conftest import ROOT, SHARED

EVIDENCE = SHARED / "evidence"
PACKETS = ("packet.csv", "packet-more.csv", "packet-2.csv")
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


def packet_rows(names: tuple[str, ...] = PACKETS) -> list[dict]:
    """The rows of the named packet files, each with its file name in ``_packet``."""
    if not EVIDENCE.is_dir():
        pytest.skip(f"evidence packet not found at {EVIDENCE}")
    rows = []
    for name in names:
        assert (EVIDENCE / name).is_file(), f"{EVIDENCE / name} is missing from the evidence packet"
        with open(EVIDENCE / name, encoding="utf-8") as handle:
            rows.extend({**row, "_packet": name} for row in csv.DictReader(handle))
    assert rows, f"no rows in {names}"
    return rows


def squash(text: str) -> str:
    return " ".join(str(text).split())


def is_unverified(row: dict) -> bool:
    return row["verified"].strip().lower().startswith("no")


def printed(cell: str) -> float | None:
    """A packet cell as a number when it is one plain number ('not found', '7 to 14' are not)."""
    try:
        return float(cell.strip().replace("\u2212", "-"))
    except ValueError:
        return None


def has_uncertainty(row: dict) -> bool:
    """The row prints an estimate with a CI or an SE (the only rows that may become effects)."""
    return printed(row["estimate"]) is not None and (
        printed(row["se"]) is not None
        or (printed(row["ci_low"]) is not None and printed(row["ci_high"]) is not None)
    )


def row_gives(row: dict, effect: dict) -> bool:
    """The effect's estimate, CI and SE are the ones the row prints."""

    def same(coded, cell: str) -> bool:
        value = printed(cell)
        return value is not None and abs(float(coded) - value) < 1e-9

    pairs = [(effect[k], row["estimate"]) for k in ("or", "rr", "yi") if k in effect]
    if "ci" in effect:
        pairs += [(effect["ci"][0], row["ci_low"]), (effect["ci"][1], row["ci_high"])]
    if "se" in effect:
        pairs.append((effect["se"], row["se"]))
    return all(same(coded, cell) for coded, cell in pairs)


def quote_problems(effects: list[tuple[str, dict]], rows: list[dict]) -> list[str]:
    """Why each effect cannot be traced to a verified packet row that prints its numbers."""
    problems = []
    for study, effect in effects:
        candidates = [
            r for r in rows if r["study_key"] == study and squash(effect["quote"]) in squash(r["quote"])
        ]
        verified = [r for r in candidates if not is_unverified(r)]
        if not candidates:
            problems.append(f"{study}/{effect['id']}: quote not found in the evidence packet")
        elif not verified:
            problems.append(f"{study}/{effect['id']}: coded from a row the packet marks unverified")
        elif not any(row_gives(r, effect) for r in verified):
            problems.append(
                f"{study}/{effect['id']}: estimate, CI or SE differ from every packet row with this quote"
            )
    return problems


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
    problems = quote_problems(quoted_effects(), packet_rows())
    assert not problems, "\n".join(problems)


def test_quote_check_can_fail():
    """The check above is not vacuous: each kind of untraceable effect is caught (packet-2 rows)."""
    rows = packet_rows(("packet-2.csv",))
    aslund = {
        "or": 3.906,
        "ci": [3.050, 5.002],
        "quote": "4–5 low social capital items | 4.371 | 3.432–5.569",
    }
    assert quote_problems([("aslund2014", {"id": "ok", **aslund})], rows) == []
    unverified = [{**r, "verified": "no: OCR only"} for r in rows]
    cases = [
        (
            "not found in the evidence packet",
            rows,
            "aslund2014",
            {**aslund, "quote": "4–5 low items | 3.906"},
        ),
        ("marks unverified", unverified, "aslund2014", aslund),
        (
            "differ from every packet row",
            rows,
            "aslund2014",
            {**aslund, "ci": [1.070, 1.362]},
        ),  # 1-vs-0 row's CI
        (
            "differ from every packet row",
            rows,
            "kauppi2021",
            {"or": 1.32, "ci": [1.17, 1.85], "quote": "high formal"},
        ),
        (
            "differ from every packet row",
            rows,
            "riedel2016",
            {"yi": 0.193, "se": 0.03, "measure": "GEN", "quote": "Lagged interethnic contact 0.193** 0.003"},
        ),
    ]
    for expected, use, study, effect in cases:
        problems = quote_problems([(study, {"id": "x", **effect})], use)
        assert len(problems) == 1 and expected in problems[0], (expected, problems)


def test_packet_2_is_coded():
    """Every packet-2 study has a file; only rows with a CI or SE become effects, and no such row is lost."""
    rows = packet_rows(("packet-2.csv",))
    docs = {doc["study"]: doc for _, doc in documents()}
    studies = {r["study_key"] for r in rows}
    assert len(studies) == 19 and len(rows) == 29
    assert studies <= set(docs), f"packet-2 studies without an extraction file: {sorted(studies - set(docs))}"
    for study in sorted(studies):
        doc, mine = docs[study], [r for r in rows if r["study_key"] == study]
        effects = [e for e in doc.get("effects") or [] if "quote" in e]
        for effect in effects:
            sources = [
                r for r in mine if squash(effect["quote"]) in squash(r["quote"]) and row_gives(r, effect)
            ]
            assert sources and all(has_uncertainty(r) for r in sources), (
                f"{study}/{effect['id']}: coded from a packet-2 row without a CI or SE"
            )
        if doc["status"] == "narrative":
            assert doc.get("not_poolable") and doc.get("findings"), f"{study}: narrative without not_poolable"
        else:
            lost = [
                r["locator"]
                for r in mine
                if has_uncertainty(r)
                and not any(squash(e["quote"]) in squash(r["quote"]) and row_gives(r, e) for e in effects)
            ]
            assert not lost, f"{study}: packet-2 rows with a CI or SE not coded: {lost}"
    coded = {s for s in studies if docs[s]["status"] == "coded"}
    assert coded == {"riedel2016", "runyan1998", "kauppi2021", "aslund2014", "firouzbakht2018"}
    assert coded <= {study for study, _ in quoted_effects()}  # so the number-in-quote test covers them


def test_benchmark_meta_analyses_are_context_records():
    docs = {doc["study"]: doc for _, doc in documents()}
    for key in ("kanfer2001", "vanhooftnd", "xue2020", "fan2001"):
        assert docs[key].get("kind") == "context" and docs[key]["status"] == "narrative", key


def test_unverified_rows_are_never_coded():
    rows = packet_rows()
    unverified = {
        r["study_key"]
        for r in rows
        if is_unverified(r)
        and not any(o["study_key"] == r["study_key"] and not is_unverified(o) for o in rows)
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
    riedel = {"yi": 0.139, "se": 0.003, "quote": "Lagged interethnic contact 0.193** 0.003 0.190** 0.003"}
    assert [
        x
        for x in coded_numbers(riedel)
        if not any(abs(x - q) < 1e-9 for q in quoted_numbers(riedel["quote"]))
    ] == [0.139]


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


def test_every_narrative_record_says_why_it_is_not_pooled():
    missing = [
        doc["study"]
        for _, doc in documents()
        if doc["status"] == "narrative" and not str(doc.get("not_poolable") or "").strip()
    ]
    assert not missing, f"narrative or context records without not_poolable: {missing}"


def test_identified_by_matches_the_packet():
    """Packet-2 and packet-more studies say so; works the bibliography marks 'cited in text only' are report-text."""
    from analysis.inputs.bibliography import read_bibliography

    docs = {doc["study"]: doc for _, doc in documents()}
    found = {key: doc["identified_by"] for key, doc in docs.items()}
    for name, value in (("packet-2.csv", "packet-2"), ("packet-more.csv", "packet-more")):
        for key in {r["study_key"] for r in packet_rows((name,))}:
            assert found[key] == value, (key, found[key], value)
    text_only = {
        r.key
        for r in read_bibliography(ROOT / "references")
        if str(r.get("note") or "").startswith("cited in text only")
    }
    assert text_only and all(found[key] == "report-text" for key in text_only), {
        k: found[k] for k in text_only if found[k] != "report-text"
    }
    assert {k for k, v in found.items() if v == "report-text"} == text_only
