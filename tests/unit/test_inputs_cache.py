"""The per-file cache of the extraction files (analysis.inputs.studycache, issue 14).

A warm run parses only the files that changed and writes the bytes of a cold run;
a damaged pack, a schema change or a code change is a miss; a bad file is reported
on every run, from its cached entry too.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from analysis.inputs import records, studycache
from analysis.inputs.bibliography import read_bibliography, reference_rows, rows_to_csv
from analysis.inputs.check import InputError, check_inputs
from analysis.inputs.effects import write_effects

ROOT = Path(__file__).resolve().parents[2]
PACK = Path(".cache") / "studies.pack"
OLD = time.time() - 3600  # an hour ago: old enough for a stamp (studycache.RACY_NS)


@pytest.fixture
def corpus(tmp_path):
    """The project's own corpus (first coder only), its files last changed an hour ago."""
    extracted = tmp_path / "extracted"
    extracted.mkdir()
    for path in sorted((ROOT / "extracted").glob("*.yaml")):
        shutil.copy(path, extracted / path.name)
    bib = tmp_path / "references.bib"
    shutil.copy(ROOT / "references" / "references.bib", bib)
    for path in [*extracted.iterdir(), bib]:
        os.utime(path, (OLD, OLD))
    # Copying set the files' ctime to now; stamp them all the same (racy_window restores it).
    studycache.RACY_NS = 0
    return extracted, bib


@pytest.fixture(autouse=True)
def racy_window():
    before = studycache.RACY_NS
    yield
    studycache.RACY_NS = before


@pytest.fixture
def parses(monkeypatch):
    """The files parsed (studycache.compute calls), and the extraction files read."""
    seen: dict[str, list[str]] = {"parsed": [], "read": []}
    compute = studycache.compute
    read_bytes = Path.read_bytes

    def counted(path, raw):
        seen["parsed"].append(Path(path).name)
        return compute(path, raw)

    def reading(self):
        if "extracted" in self.parts:
            seen["read"].append(self.name)
        return read_bytes(self)

    monkeypatch.setattr(studycache, "compute", counted)
    monkeypatch.setattr(Path, "read_bytes", reading)
    return seen


def build(extracted: Path, bib: Path, results: Path) -> dict[str, bytes]:
    """What the three rules do with the cache: check, convert, count; their outputs' bytes."""
    check_inputs(extracted, bib, results)
    results.mkdir(parents=True, exist_ok=True)
    refs = results / "references.csv"
    refs.write_text(rows_to_csv(reference_rows(read_bibliography(bib))), encoding="utf-8")
    write_effects(extracted, refs, results / "effects.csv", results / "studies.csv", results / PACK)
    counts = records.count_records(studycache.cached_records(extracted, results / PACK))
    return {
        "effects.csv": (results / "effects.csv").read_bytes(),
        "studies.csv": (results / "studies.csv").read_bytes(),
        "records": records.counts_json(counts).encode(),
        "pack": (results / PACK).read_bytes(),
    }


def cold(extracted: Path, bib: Path, tmp_path: Path) -> dict[str, bytes]:
    results = tmp_path / "cold"
    shutil.rmtree(results, ignore_errors=True)
    return build(extracted, bib, results)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_warm_run_parses_only_the_changed_file_and_writes_a_cold_runs_bytes(corpus, parses, tmp_path):
    extracted, bib = corpus
    results = tmp_path / "results"
    first = build(extracted, bib, results)
    files = len(list(extracted.glob("*.yaml")))
    assert len(parses["parsed"]) == files, "a cold run parses each file once, in all three rules"
    parses["parsed"].clear()
    parses["read"].clear()

    assert build(extracted, bib, results) == first
    assert parses["parsed"] == [] and parses["read"] == [], "a no-op run reads no extraction file"

    changed = extracted / "rothon2012.yaml"
    edit(changed, "findings:", "findings: Changed for the test.")
    os.utime(changed, (OLD, OLD + 1))
    warm = build(extracted, bib, results)
    assert parses["parsed"] == ["rothon2012.yaml"]
    assert parses["read"] == ["rothon2012.yaml"], "unchanged files are not read (stamps)"
    assert warm != first
    assert warm == cold(extracted, bib, tmp_path)


def test_an_added_study_is_the_only_file_parsed(corpus, parses, tmp_path):
    extracted, bib = corpus
    results = tmp_path / "results"
    build(extracted, bib, results)
    parses["parsed"].clear()
    (extracted / "rothon2012.yaml").rename(tmp_path / "held.yaml")
    without = build(extracted, bib, results)
    assert parses["parsed"] == []
    assert b"rothon2012" not in without["studies.csv"]
    assert without == cold(extracted, bib, tmp_path), "a study left: the pack is a cold run's"
    parses["parsed"].clear()
    (tmp_path / "held.yaml").rename(extracted / "rothon2012.yaml")
    warm = build(extracted, bib, results)
    assert parses["parsed"] == ["rothon2012.yaml"]
    assert warm == cold(extracted, bib, tmp_path)


@pytest.mark.parametrize(
    "damage",
    [
        lambda pack: pack.write_bytes(pack.read_bytes()[: len(pack.read_bytes()) // 2]),
        lambda pack: pack.write_bytes(b"\xff\xfe not json"),
        lambda pack: pack.write_text('{"version": 1, "code": "x"}\n', encoding="utf-8"),
        lambda pack: pack.write_text(
            pack.read_text(encoding="utf-8").replace('"problems": []', '"problems": 7'), encoding="utf-8"
        ),
        lambda pack: pack.unlink(),
    ],
    ids=["truncated", "binary", "other-code", "wrong-shape", "deleted"],
)
def test_a_damaged_pack_is_a_miss(corpus, parses, tmp_path, damage):
    extracted, bib = corpus
    results = tmp_path / "results"
    first = build(extracted, bib, results)
    damage(results / PACK)
    parses["parsed"].clear()
    assert build(extracted, bib, results) == first
    # Every file parsed again by check_inputs, which rewrites the pack; the others then hit.
    assert sorted(parses["parsed"]) == sorted(p.name for p in extracted.glob("*.yaml"))


def test_a_schema_change_misses_every_entry(corpus, parses, tmp_path, monkeypatch):
    extracted, bib = corpus
    results = tmp_path / "results"
    build(extracted, bib, results)
    schema = tmp_path / "extraction.schema.yaml"
    schema.write_bytes(studycache.extraction.SCHEMA_PATH.read_bytes() + b"\n# changed\n")
    monkeypatch.setattr(studycache.extraction, "SCHEMA_PATH", schema)
    parses["parsed"].clear()
    build(extracted, bib, results)
    assert len(parses["parsed"]) == len(list(extracted.glob("*.yaml")))


def test_a_code_change_misses_every_entry(corpus, parses, tmp_path, monkeypatch):
    extracted, bib = corpus
    results = tmp_path / "results"
    code = tmp_path / "effects.py"
    code.write_bytes((ROOT / "analysis" / "inputs" / "effects.py").read_bytes())
    from analysis import codepaths  # studycache.code_digest imports imported_files on use

    real = codepaths.imported_files
    monkeypatch.setattr(codepaths, "imported_files", lambda root, script: [*real(root, script), str(code)])
    build(extracted, bib, results)
    parses["parsed"].clear()
    build(extracted, bib, results)
    assert parses["parsed"] == []
    code.write_bytes(code.read_bytes() + b"\n# changed\n")
    build(extracted, bib, results)
    assert len(parses["parsed"]) == len(list(extracted.glob("*.yaml")))


def test_a_bad_file_is_reported_on_every_run_from_its_entry(corpus, parses, tmp_path):
    extracted, bib = corpus
    results = tmp_path / "results"
    good = build(extracted, bib, results)
    bad = extracted / "rothon2012.yaml"
    edit(bad, "design: cohort", "design: cohorX")
    os.utime(bad, (OLD, OLD + 1))
    messages = []
    for _ in range(2):
        parses["parsed"].clear()
        with pytest.raises(InputError, match="'cohorX' is not an allowed value") as err:
            check_inputs(extracted, bib, results)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert parses["parsed"] == [], "the second run reports the bad file from its cached entry"
    # convert_effects refuses it too (a file changed after check_inputs ran).
    with pytest.raises(ValueError, match="cohorX"):
        studycache.valid_entries(extracted, results / PACK)
    edit(bad, "design: cohorX", "design: cohort")
    fixed = build(extracted, bib, results)
    assert {k: v for k, v in fixed.items() if k != "pack"} == {k: v for k, v in good.items() if k != "pack"}
    assert fixed == cold(extracted, bib, tmp_path), "the pack too: its stamp is the file's new one"


def test_a_cached_valid_file_whose_key_left_the_bibliography_is_reported(corpus, tmp_path):
    """The bibliography check runs on every run, on the cached entries."""
    extracted, bib = corpus
    results = tmp_path / "results"
    build(extracted, bib, results)
    text = bib.read_text(encoding="utf-8")
    assert "@article{rothon2012," in text
    bib.write_text(text.replace("@article{rothon2012,", "@article{rothon2012x,"), encoding="utf-8")
    with pytest.raises(InputError, match="'rothon2012' is not a key in the bibliography"):
        check_inputs(extracted, bib, results)


def test_a_same_size_edit_that_restores_the_old_time_is_read_again(corpus, parses, tmp_path):
    """touch -r after an edit keeps size, mtime and inode; the ctime in the stamp still differs."""
    extracted, bib = corpus
    results = tmp_path / "results"
    build(extracted, bib, results)
    study = extracted / "rothon2012.yaml"
    stat = study.stat()
    with open(study, "r+b") as handle:  # in place: same inode
        data = handle.read().replace(b"design: cohort", b"design: cohorX")
        handle.seek(0)
        handle.write(data)
    os.utime(study, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert study.stat().st_size == stat.st_size and study.stat().st_ino == stat.st_ino
    with pytest.raises(InputError, match="'cohorX' is not an allowed value"):
        check_inputs(extracted, bib, results)


def test_a_file_changed_just_now_gets_no_stamp(corpus, tmp_path):
    """A file stamped within the clock's tick of its last change is hashed again next time."""
    extracted, bib = corpus
    studycache.RACY_NS = 10**18
    results = tmp_path / "results"
    check_inputs(extracted, bib, results)
    cache = studycache.StudyCache(results / PACK)
    assert cache.entries and all(entry.stamp is None for entry in cache.entries.values())
    cache.close()


def test_parsing_in_two_processes_finds_and_writes_what_one_does(corpus, tmp_path, monkeypatch):
    from analysis.inputs.check import checked_with_pack

    extracted, bib = corpus
    edit(extracted / "rothon2012.yaml", "design: cohort", "design: cohorX")
    monkeypatch.setattr(studycache, "PREFETCH_MIN", 1)
    found = {}
    for workers in (1, 2):
        pack = tmp_path / f"w{workers}" / PACK
        with pytest.raises(InputError) as err:
            checked_with_pack(extracted, bib, pack, workers=workers)
        found[workers] = (err.value.problems, pack.read_bytes())
    assert found[1] == found[2]
    assert any("cohorX" in p for p in found[2][0])
    # And with the pack of the two-process run, a second run has nothing to parse.
    with studycache.StudyCache(tmp_path / "w2" / PACK, workers=2) as cache:
        assert [p.name for p in sorted(extracted.glob("*.yaml")) if cache._would_parse(p)] == []


def test_the_pack_holds_the_tables_rows_as_their_csv_text_and_a_no_op_run_leaves_it(corpus, tmp_path):
    """Each entry holds its rows of studies.csv and effects.csv as the text the tables hold:
    the tables are the entries' texts in study order; a run with nothing changed keeps the file."""
    extracted, bib = corpus
    results = tmp_path / "results"
    first = build(extracted, bib, results)
    with studycache.StudyCache(results / PACK) as cache:
        values = [cache.value(name) for name in cache.entries]
    assert len(values) == len(list(extracted.glob("*.yaml")))
    ordered = sorted(values, key=lambda v: v["study"])
    header, _ = first["effects.csv"].decode().split("\n", 1)
    assert first["effects.csv"].decode() == header + "\n" + "".join(v["effects"] for v in ordered)
    header, _ = first["studies.csv"].decode().split("\n", 1)
    assert first["studies.csv"].decode() == header + "\n" + "".join(v["study_row"] for v in ordered)
    before = (results / PACK).stat()
    assert build(extracted, bib, results) == first
    after = (results / PACK).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_pack_of_other_files_is_rewritten_to_a_cold_runs_bytes(corpus, tmp_path):
    """Entries of files gone and files new, first and last in the listing."""
    extracted, bib = corpus
    results = tmp_path / "results"
    names = sorted(p.name for p in extracted.glob("*.yaml"))
    held = tmp_path / "held"
    held.mkdir()
    for name in (names[0], names[-1]):
        (extracted / name).rename(held / name)
    build(extracted, bib, results)
    (extracted / names[1]).rename(held / names[1])
    for name in (names[0], names[-1]):
        (held / name).rename(extracted / name)
    assert build(extracted, bib, results) == cold(extracted, bib, tmp_path)


def test_a_last_file_gone_cuts_the_pack_to_a_cold_runs_bytes(corpus, tmp_path):
    extracted, bib = corpus
    results = tmp_path / "results"
    build(extracted, bib, results)
    last = sorted(extracted.glob("*.yaml"))[-1]
    last.rename(tmp_path / last.name)
    warm = build(extracted, bib, results)
    assert last.stem.encode() not in warm["pack"]
    assert warm == cold(extracted, bib, tmp_path)


def test_the_tables_without_a_pack_are_those_with_one(corpus, tmp_path):
    extracted, bib = corpus
    first = build(extracted, bib, tmp_path / "results")
    refs = tmp_path / "results" / "references.csv"
    write_effects(extracted, refs, tmp_path / "e.csv", tmp_path / "s.csv", None)
    assert (tmp_path / "e.csv").read_bytes() == first["effects.csv"]
    assert (tmp_path / "s.csv").read_bytes() == first["studies.csv"]
    counts = records.count_records(studycache.cached_records(extracted, None))
    assert records.counts_json(counts).encode() == first["records"]


def test_a_job_that_only_reads_indexes_every_line_from_its_start_and_misses_only_a_damaged_value(
    corpus, parses, tmp_path
):
    """convert_effects and count_records read each line's start first (not its value): every
    entry check_inputs wrote is indexed so; a line whose value is damaged later is that one
    file's miss (read and parsed again), and the tables are still a cold run's."""
    extracted, bib = corpus
    results = tmp_path / "results"
    first = build(extracted, bib, results)
    with (
        studycache.StudyCache(results / PACK, write=True) as whole,
        studycache.StudyCache(results / PACK) as head,
    ):
        assert head.entries == whole.entries and len(head.entries) == len(list(extracted.glob("*.yaml")))
    lines = (results / PACK).read_bytes().split(b"\n")
    victim = next(i for i, line in enumerate(lines) if b"rothon2012.yaml" in line)
    lines[victim] = lines[victim].replace(b'"problems": []', b'"problems": 7')
    (results / PACK).write_bytes(b"\n".join(lines))
    parses["parsed"].clear()
    refs = results / "references.csv"
    write_effects(extracted, refs, tmp_path / "e.csv", tmp_path / "s.csv", results / PACK)
    assert parses["parsed"] == ["rothon2012.yaml"]
    assert (tmp_path / "e.csv").read_bytes() == first["effects.csv"]
    assert (tmp_path / "s.csv").read_bytes() == first["studies.csv"]
    counts = records.count_records(studycache.cached_records(extracted, results / PACK))
    assert records.counts_json(counts).encode() == first["records"]
    # a line cut short is not a line of the pack: the whole pack is a miss, as for check_inputs
    (results / PACK).write_bytes(b"\n".join(lines)[:-40])
    with studycache.StudyCache(results / PACK) as head:
        assert head.entries == {}
