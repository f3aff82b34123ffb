"""The reviewer's command: review new / check / import / status (agreement: test_agreement.py).

Bad inputs are in the corpus (test_bad_inputs.py); here, what the tools do with
good and everyday input, and how they talk to the reviewer.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from analysis.inputs import bibliography
from analysis.inputs.effects import effect_rows
from analysis.inputs.extraction import (
    FORM_KEYS,
    INPUT_FORMS,
    extraction_schema,
    load_corpus,
    load_yaml_text,
    read_extraction,
    validate_document,
)
from analysis.io import csv_text
from analysis.review import cells, check, new, sheet, studyfile
from analysis.review import cli as review
from tests.conftest import ROOT

BAD = ROOT / "tests" / "data" / "bad"
GOOD_BIB = BAD / "_good" / "references.bib"
GOOD_STUDY = BAD / "_good" / "rothon2012.yaml"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = review.main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder with config, bibliography and an empty extracted/; cwd inside it."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(
        "extracted_dir: extracted\nbibliography: references\nresults_dir: results\n",
        encoding="utf-8",
    )
    (tmp_path / "Snakefile").write_text("# test project\n", encoding="utf-8")
    (tmp_path / "references").mkdir()
    shutil.copy(GOOD_BIB, tmp_path / "references" / "references.bib")
    (tmp_path / "extracted").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ---------------------------------------------------------------- review new


def test_new_creates_a_template_from_the_bibliography(project, capsys):
    code, out, _ = run(capsys, "new", "rothon2012")
    assert code == 0
    path = project / "extracted" / "rothon2012.yaml"
    text = path.read_text(encoding="utf-8")
    assert "Created extracted/rothon2012.yaml for Rothon, Catherine" in out and "(2012)" in out
    assert "# Authors: Rothon, Catherine and Goodwin, Laura and Stansfeld, Stephen" in text
    assert "# Year: 2012" in text and "study: rothon2012\n" in text
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in path.parent.iterdir()] == ["rothon2012.yaml"]  # no temporary file left


def test_new_works_from_a_subfolder(project, capsys, monkeypatch):
    monkeypatch.chdir(project / "extracted")
    code, out, _ = run(capsys, "new", "other2020")
    assert code == 0 and (project / "extracted" / "other2020.yaml").is_file()
    assert "Created other2020.yaml" in out


def test_template_holds_every_field_of_the_codebook():
    """The template is generated from the schema, so it cannot drift from the codebook."""
    text = new.template("rothon2012")
    comments = " ".join(line.strip().lstrip("#").strip() for line in text.splitlines())
    schema = extraction_schema()
    effect = schema["$defs"]["effect"]["properties"]
    for name, spec in [*schema["properties"].items(), *effect.items()]:
        assert re.search(rf"^\s*(# )?(- )?{name}:", text, re.M), name
        if "description" in spec:
            assert " ".join(str(spec["description"]).split()) in comments, name
        for value in spec.get("enum", []) + spec.get("items", {}).get("enum", []):
            assert str(value) in comments, (name, value)
    for nested in ("counts", "groups"):
        for key in effect[nested]["properties"]:
            assert f"{key}: " in text
    for form, companions in INPUT_FORMS.items():
        assert f"--- form: {form}" in text and all(c in text for c in companions)


def test_empty_template_is_valid_yaml_and_check_says_what_to_fill(tmp_path):
    path = tmp_path / "rothon2012.yaml"
    path.write_text(new.template("rothon2012"), encoding="utf-8")
    data, problems = read_extraction(path)
    assert problems == []
    found = {(p.field, p.message) for p in validate_document(data, path, {"rothon2012"})}
    assert ("design", "an empty value is not an allowed value") in found
    assert ("locator", "is empty") in found and ("", "has no input form") in found


def fill_template(text: str) -> str:
    """What a reviewer does: fill the placeholders and uncomment one input form."""
    text = text.replace("design:\n", "design: cohort\n").replace("country: []", "country: [GB]")
    text = text.replace("status:\n", "status: coded\n").replace('  - id: ""', "  - id: gcse")
    text = text.replace("identified_by:\n", "identified_by: report-references\n")
    text = text.replace("    theme:\n", "    theme: education\n")
    text = text.replace("    outcome:\n", "    outcome: education\n")
    text = text.replace('    locator: ""', "    locator: Abstract")
    text = text.replace('    quote: ""', '    quote: "(OR = 2.57, 95% CI 2.11-3.13)"')
    text = text.replace("    # or:\n", "    or: 2.57\n", 1)
    return text.replace("    # ci: [lower, upper]\n", "    ci: [2.11, 3.13]\n", 1)


def test_filled_template_passes(tmp_path):
    path = tmp_path / "rothon2012.yaml"
    path.write_text(fill_template(new.template("rothon2012")), encoding="utf-8")
    data, problems = read_extraction(path)
    assert problems == [] and validate_document(data, path, {"rothon2012"}) == []
    assert set(data["effects"][0]) & FORM_KEYS == {"or", "ci"}


def test_template_comments_cannot_inject_yaml():
    """A title with a line separator stays a comment (YAML breaks lines at U+2028 and U+0085)."""
    ref = bibliography.Reference(
        "evil2020",
        "misc",
        (
            ("author", "A\u2028design: rct"),
            ("title", "T\x85status: coded\u2029x"),
            ("year", "2020"),
        ),
        "f.bib",
        1,
    )
    data = load_yaml_text(new.template("evil2020", ref))
    assert data["design"] is None and data["status"] is None


def test_new_refuses_an_existing_file(project, capsys):
    (project / "extracted" / "rothon2012.yml").write_text("study: rothon2012\n", encoding="utf-8")
    code, _, err = run(capsys, "new", "rothon2012")
    assert code == 1
    assert "extracted/rothon2012.yml already exists; nothing was changed." in err
    assert (project / "extracted" / "rothon2012.yml").read_text(encoding="utf-8") == "study: rothon2012\n"


def test_new_suggests_a_close_key(project, capsys):
    code, _, err = run(capsys, "new", "rothon2013")
    assert code == 1
    assert "rothon2013 is not in the bibliography (references). Did you mean rothon2012?" in err


def test_new_reports_a_broken_bibliography(project, capsys):
    (project / "references" / "references.bib").write_text("@article{x, title={T}}\n", encoding="utf-8")
    code, _, err = run(capsys, "new", "x")
    assert code == 1
    assert "The bibliography (references) has 2 problem(s); fix them first:" in err
    assert "entry 'x' missing field 'author'" in err


# ---------------------------------------------------------------- review check


def test_check_groups_problems_by_file_with_a_summary(project, capsys):
    shutil.copy(GOOD_STUDY, project / "extracted")
    bad = (
        GOOD_STUDY.read_text(encoding="utf-8")
        .replace("rothon2012", "other2020")
        .replace("design: cohort", "design: survey")
        .replace("ci: [2.11, 3.13]", "ci: [2.11, 2.50]")
    )
    (project / "extracted" / "other2020.yaml").write_text(bad, encoding="utf-8")
    code, out, _ = run(capsys, "check")
    assert code == 1
    assert out.splitlines()[0] == "extracted/other2020.yaml"
    assert "  - study other2020, field 'design': 'survey' is not an allowed value. Fix: use one of:" in out
    assert "does not contain the estimate 2.57" in out
    assert "rothon2012" not in out
    assert out.strip().splitlines()[-1] == (
        "2 problem(s) in 1 file(s) (2 extraction file(s) and the bibliography checked). "
        "Fix them, then run `review check` again."
    )


def test_check_warnings_do_not_fail(project, capsys):
    text = GOOD_STUDY.read_text(encoding="utf-8").replace("    or: 2.57", "    reverse: true\n    or: 2.57")
    (project / "extracted" / "rothon2012.yaml").write_text(text, encoding="utf-8")
    (project / "extracted" / "notes.txt").write_text("to do\n", encoding="utf-8")
    code, out, _ = run(capsys, "check")
    assert code == 0
    assert (
        "  - warning: effect gcse-extracurricular, field 'reverse_reason': reverse is true but "
        "no reason is given"
    ) in out
    assert "extracted/notes.txt\n  - warning: is not read by the workflow" in out
    assert out.strip().splitlines()[-1] == (
        "No problems (1 extraction file(s) and the bibliography checked), 2 warning(s)."
    )


def test_check_finds_a_study_with_two_files(project, capsys):
    shutil.copy(GOOD_STUDY, project / "extracted" / "rothon2012.yaml")
    shutil.copy(GOOD_STUDY, project / "extracted" / "rothon2012.yml")
    code, out, _ = run(capsys, "check")
    assert code == 1
    assert (
        "is a second file for study rothon2012 (also rothon2012.yaml); "
        "its effects would be counted twice" in out
    )


def test_check_includes_the_second_coder(project, capsys):
    shutil.copy(GOOD_STUDY, project / "extracted")
    second = project / "extracted" / "second-coder"
    second.mkdir()
    (second / "rothon2012.yaml").write_text(
        GOOD_STUDY.read_text(encoding="utf-8").replace("theme: education", "theme: family"),
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "check")
    assert code == 1
    assert (
        "extracted/second-coder/rothon2012.yaml\n"
        "  - study rothon2012, effect gcse-extracurricular, field 'theme'" in out
    )


def test_check_of_the_project_corpus_passes(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = run(capsys, "check")
    assert code == 0, out


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("files", "tty", "shown"), [(501, True, True), (500, True, False), (5000, False, False)]
)
def test_progress_only_for_long_runs_on_a_terminal(files, tty, shown):
    stream = FakeTerminal(tty)
    progress = check.Progress(files, "Checking extraction files", stream)
    for done in range(1, files + 1):
        progress.update(done)
    progress.close()
    assert (f"Checking extraction files: {files:,} of {files:,}" in stream.getvalue()) is shown
    assert (stream.getvalue() == "") is not shown


# ---------------------------------------------------------------- review import


def write_sheet(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


SHEET_COLUMNS = (
    "study,design,country,status,identified_by,findings,id,theme,outcome,outcome_label,reverse,reverse_reason,"
    "or,ci_low,ci_high,n,groups_m1,groups_sd1,groups_n1,groups_m2,groups_sd2,groups_n2,measure,"
    "d,n1,n2,counts_ai,counts_bi,counts_ci,counts_di,locator,quote"
).split(",")


def sheet_row(**cells: str) -> str:
    """One CSV row with ``cells`` in their columns, the other cells empty."""
    assert set(cells) <= set(SHEET_COLUMNS)
    return ",".join(cells.get(c, "") for c in SHEET_COLUMNS) + "\n"


SHEET = (
    ",".join(SHEET_COLUMNS)
    + "\n"
    + "".join(
        [
            sheet_row(
                study="rothon2012",
                design="cohort",
                country="GB;US",
                status="coded",
                identified_by="report-references",
                id="gcse",
                theme="education",
                outcome="education",
                outcome_label="GCSE",
                reverse="false",
                **{"or": "2.57"},
                ci_low="2.11",
                ci_high="3.13",
                n="12000",
                locator="Abstract",
                quote='"(OR = 2.57, 95% CI 2.11-3.13)"',
            ),
            sheet_row(
                study="rothon2012",
                id="grades",
                theme="education",
                outcome="education",
                outcome_label="Grades",
                reverse="TRUE",
                reverse_reason="low vs high",
                groups_m1="3.1",
                groups_sd1="1.2",
                groups_n1="40",
                groups_m2="2.5",
                groups_sd2="1.1",
                groups_n2="38",
                measure="SMD",
                locator="Table 2",
                quote='"3.1 (1.2) vs 2.5 (1.1); n 40, 38"',
            ),
            sheet_row(
                study="rothon2012",
                id="d-form",
                theme="bonding",
                outcome="health",
                outcome_label="Mood",
                d="0.4",
                n1="20",
                n2="22",
                locator="Table 3",
                quote="d = 0.4 (n 20 and 22)",
            ),
            sheet_row(
                study="other2020",
                design="rct",
                country="XX",
                status="coded",
                identified_by="report-references",
                id="trial",
                theme="linking",
                outcome="employment",
                outcome_label="Employed",
                measure="RR",
                counts_ai="12",
                counts_bi="30",
                counts_ci="8",
                counts_di="40",
                locator="Table 1",
                quote="12/42 vs 8/48",
            ),
        ]
    )
)


def test_import_writes_typed_study_files(project, capsys):
    path = write_sheet(project / "sheet.csv", SHEET)
    code, out, _ = run(capsys, "import", str(path))
    assert code == 0, out
    assert "Wrote extracted/rothon2012.yaml (rows 2-4)" in out
    assert "Imported 2 new study file(s); 0 already up to date." in out
    documents, problems = load_corpus(project / "extracted", {"rothon2012", "other2020"})
    assert problems == []
    docs = {d["study"]: d for _, d in documents}
    rothon = docs["rothon2012"]
    assert rothon["country"] == ["GB", "US"] and "findings" not in rothon
    gcse, grades, d_form = rothon["effects"]
    assert gcse["or"] == 2.57 and gcse["ci"] == [2.11, 3.13] and gcse["n"] == 12000
    assert isinstance(gcse["n"], int) and gcse["reverse"] is False
    assert grades["groups"] == {"m1": 3.1, "sd1": 1.2, "n1": 40, "m2": 2.5, "sd2": 1.1, "n2": 38}
    assert grades["reverse"] is True and "n1" not in grades
    assert d_form["d"] == 0.4 and (d_form["n1"], d_form["n2"]) == (20, 22)
    assert docs["other2020"]["effects"][0]["counts"] == {"ai": 12, "bi": 30, "ci": 8, "di": 40}
    assert len(effect_rows(documents)) == 4
    text = (project / "extracted" / "rothon2012.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Imported by `review import` from sheet.csv (rows 2-4).\n")
    assert "country: [GB, US]" in text and "ci: [2.11, 3.13]" in text
    assert sorted(p.name for p in (project / "extracted").iterdir()) == [
        "other2020.yaml",
        "rothon2012.yaml",
    ]


def test_import_twice_is_a_no_op_and_a_difference_is_refused(project, capsys):
    path = write_sheet(project / "sheet.csv", SHEET)
    assert run(capsys, "import", str(path))[0] == 0
    before = {p: p.read_bytes() for p in (project / "extracted").iterdir()}
    code, out, _ = run(capsys, "import", str(path))
    assert code == 0 and "Imported 0 new study file(s); 2 already up to date." in out
    write_sheet(path, SHEET.replace("2.57,2.11", "2.75,2.11"))
    code, out, _ = run(capsys, "import", str(path))
    assert code == 1
    assert (
        "extracted/rothon2012.yaml: already exists and differs from the sheet's study rothon2012 "
        "(effects.gcse.or: '2.57' in the file, '2.75' in the sheet); nothing was written"
    ) in out
    assert {p: p.read_bytes() for p in (project / "extracted").iterdir()} == before


def test_import_validates_before_writing_anything(project, capsys):
    """One bad study stops the whole import: no half-imported sheet."""
    path = write_sheet(project / "sheet.csv", SHEET.replace("other2020,rct", "other2020,survey"))
    code, out, _ = run(capsys, "import", str(path))
    assert code == 1
    assert "row 5: study other2020, field 'design': 'survey' is not an allowed value" in out
    assert list((project / "extracted").iterdir()) == []


def test_import_dry_run_writes_nothing(project, capsys):
    path = write_sheet(project / "sheet.csv", SHEET)
    code, out, _ = run(capsys, "import", str(path), "--dry-run")
    assert code == 0 and "extracted/rothon2012.yaml would be written" in out
    assert list((project / "extracted").iterdir()) == []


def test_import_a_narrative_study_and_a_key_not_in_the_bibliography(project, capsys):
    path = write_sheet(
        project / "sheet.csv",
        """\
        study,design,country,status,identified_by,findings,themes,outcomes
        other2020,qualitative,NO,narrative,packet-more,"People found jobs through friends; ""weak ties"".",bridging;linking,employment
        nobody1999,qualitative,GB,narrative,packet-more,x,,
        """,
    )
    code, out, _ = run(capsys, "import", str(path))
    assert (
        code == 1
        and "row 3: study nobody1999, field 'study': 'nobody1999' is not a key in the bibliography" in out
    )
    write_sheet(path, path.read_text(encoding="utf-8").rsplit("nobody1999", 1)[0])
    assert run(capsys, "import", str(path))[0] == 0
    data, _ = read_extraction(project / "extracted" / "other2020.yaml")
    assert data["country"] == ["NO"] and data["themes"] == ["bridging", "linking"]
    assert data["findings"] == 'People found jobs through friends; "weak ties".'


def test_import_warns_about_reverse_without_reason(project, capsys):
    path = write_sheet(project / "sheet.csv", SHEET.replace("TRUE,low vs high", "TRUE,"))
    code, out, _ = run(capsys, "import", str(path))
    assert code == 0 and "warning: effect grades, field 'reverse_reason'" in out


def test_sheet_numbers_are_never_silently_converted():
    number = cells.parse_number
    assert number("12") == 12 and isinstance(number("12"), int)
    assert number("0.5") == 0.5 and number("-.5") == -0.5 and number("1e-3") == 0.001
    assert number("+2.0E+2") == 200.0
    for text in (
        "1,234",
        "0,5",
        "12%",
        "1 234",
        "NaN",
        "inf",
        "#N/A",
        "\u22120.5",
        "0.5.1",
        "1e999",
        "0x10",
        "1_000",
    ):
        with pytest.raises(cells.CellError):
            number(text)
    with pytest.raises(cells.CellError, match="is not a whole number"):
        number("12.0", integer=True)


def test_import_help_documents_every_column(capsys):
    with pytest.raises(SystemExit) as exit_:
        review.main(["import", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for column in sheet.columns():
        assert re.search(rf"^  {column} ", out, re.M), column


def test_the_readme_names_the_sheet_columns_that_differ_from_the_codebook():
    """Other columns are the codebook's field names; the flat ones must be documented."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Reviewer tools", 1)[1].split("\n## ", 1)[0]
    differing = [c.name for c in sheet.columns().values() if c.name != c.field]
    assert "ci_low" in differing and "groups_m1" in differing and "effect_id" in differing
    for column in differing:
        assert column in section, column


# ---------------------------------------------------------------- review status


def test_status_without_a_release(project, capsys):
    shutil.copy(GOOD_STUDY, project / "extracted")
    code, out, _ = run(capsys, "status")
    assert code == 0
    assert "studies: 1 (coded, with effects: 1; narrative, findings only: 0)" in out
    assert "bibliography entries without an extraction file: 1 (e.g. other2020)" in out
    assert re.search(r"^  education +1 / 0$", out, re.M)
    assert re.search(r"^  education +\. +\. +\. +1/0 ", out, re.M)
    assert "No release yet" in out


def test_status_compares_with_the_last_release(project, capsys):
    extracted = project / "extracted"
    shutil.copy(GOOD_STUDY, extracted)
    documents, _ = load_corpus(extracted, None)
    rows = effect_rows(documents)
    for version, yi_shift in (("v1.2.0", 0.0), ("v1.10.0", 0.1)):  # v1.10.0 is the latest
        folder = project / "releases" / version
        folder.mkdir(parents=True)
        shifted = [{**r, "yi": r["yi"] + yi_shift} for r in rows]
        ghost = {**rows[0], "study": "gone2001", "effect_id": "x"}
        (folder / "effects.csv").write_text(csv_text(shifted + [ghost], list(rows[0])), encoding="utf-8")
        (folder / "extractions.csv").write_text(
            "study,design,status\nrothon2012,cohort,coded\ngone2001,rct,coded\n", encoding="utf-8"
        )
    other = GOOD_STUDY.read_text(encoding="utf-8").replace("rothon2012", "other2020")
    (extracted / "other2020.yaml").write_text(other, encoding="utf-8")
    code, out, _ = run(capsys, "status")
    assert code == 0
    assert "Since release v1.10.0 (releases/v1.10.0):" in out
    assert "  studies added: 1 (other2020)" in out and "  studies removed: 1 (gone2001)" in out
    assert "  studies recoded: 1 (rothon2012)" in out
    assert "with a changed value: 1 (rothon2012/gcse-extracurricular)" in out


# ---------------------------------------------------------------- errors never show a traceback


def test_unexpected_errors_are_one_short_line(project, capsys, monkeypatch):
    def boom(paths):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(check, "run_check", boom)
    code, out, err = run(capsys, "check")
    assert code == 2 and out == ""
    assert err.startswith(
        "review check: something unexpected went wrong (ZeroDivisionError: division by zero)."
    )
    assert len(err.strip().splitlines()) == 1


def test_file_system_errors_are_explained(project, capsys, monkeypatch):
    def denied(path, text):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(studyfile, "write_new_file", denied)
    code, _, err = run(capsys, "new", "rothon2012")
    assert code == 1
    assert "review new: could not read or write a file (extracted/rothon2012.yaml): Permission denied." in err


def test_interrupt_is_quiet(project, capsys, monkeypatch):
    def interrupted(paths):
        raise KeyboardInterrupt

    monkeypatch.setattr(check, "run_check", interrupted)
    code, _, err = run(capsys, "check")
    assert code == 130 and err == "Stopped.\n"


def test_usage_errors_name_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_:
        review.main([])
    assert exit_.value.code == 2
    assert "the following arguments are required: COMMAND" in capsys.readouterr().err


def test_console_script(project):
    script = ROOT / ".venv" / "bin" / "review"
    if not script.exists():
        pytest.skip("the review script is installed by `make` (pip install -e .); not installed here")
    done = subprocess.run(
        [str(script), "new", "../../x"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 1 and "cannot be a study key" in done.stderr
    assert "Traceback" not in done.stderr


# ---------------------------------------------------------------- a release's table imports back


def release_module():
    from analysis.release import extractions

    return extractions


def test_sheet_columns_are_a_release_tables_columns():
    release = release_module()
    table = [c.name for c in release.extraction_columns(extraction_schema())]
    assert [c for c in table if c not in sheet.IGNORED] == list(sheet.columns())


def test_a_release_table_imports_back_to_the_same_studies(tmp_path, capsys, monkeypatch):
    """extractions.csv of the project's own studies -> review import -> the same studies."""
    release = release_module()
    columns, rows = release.extraction_rows(ROOT / "extracted", extraction_schema())
    table = tmp_path / "extractions.csv"
    table.write_text(csv_text(rows, [c.name for c in columns]), encoding="utf-8")
    monkeypatch.chdir(ROOT)
    code, out, _ = run(capsys, "import", str(table), "--extracted", str(tmp_path / "extracted"))
    assert code == 0, out
    original, problems = load_corpus(ROOT / "extracted", None)
    imported, problems_imported = load_corpus(tmp_path / "extracted", None)
    assert problems == problems_imported == []
    before = {d["study"]: studyfile.comparable(d) for _, d in original}
    after = {d["study"]: studyfile.comparable(d) for _, d in imported}
    assert after == before

    # Same effects and numbers; only `printed` may differ, because the table writes 1.0 as 1.
    def without_printed(rows):
        return [{k: v for k, v in r.items() if k != "printed"} for r in rows]

    assert without_printed(effect_rows(imported)) == without_printed(effect_rows(original))
    # and importing it into the project itself changes nothing: every file is up to date
    code, out, _ = run(capsys, "import", str(table), "--dry-run")
    assert code == 0 and "would be written" not in out, out


# ---------------------------------------------------------------- review import: sizes (issue 16)


def _effect_row(index: int, **extra: str) -> str:
    cells = {
        "study": "rothon2012",
        "design": "cohort",
        "country": "GB",
        "status": "coded",
        "identified_by": "report-references",
        "id": f"e{index}",
        "theme": "education",
        "outcome": "education",
        "or": "2.57",
        "ci_low": "2.11",
        "ci_high": "3.13",
        "locator": "Abstract",
        "quote": '"OR = 2.57; 95% CI 2.11-3.13"',
        **extra,
    }
    return sheet_row(**cells)


def test_a_100000_row_study_is_refused_before_anything_is_written(project, capsys):
    """It would be a file `review check` refuses (over 2 MB): the import says so, in a few lines."""
    path = project / "sheet.csv"
    path.write_text(
        ",".join(SHEET_COLUMNS) + "\n" + "".join(map(_effect_row, range(100_000))), encoding="utf-8"
    )
    code, out, err = run(capsys, "import", str(path))
    assert code == 1 and err == ""
    assert list((project / "extracted").iterdir()) == []
    assert "study rothon2012 (100,000 rows) would be an extraction file of more than 2,000,000 bytes" in out
    assert "nothing was written" in out and len(out) < 2_000 and len(out.splitlines()) == 2


def test_a_file_just_over_the_limit_is_refused_after_writing_it_out(project, capsys):
    """The YAML is larger than the cells (keys, indentation, folding): the written text is measured."""
    quote = " ".join(["OR = 2.57; 95% CI 2.11-3.13"] * 4_640)  # 129,919 characters: a CSV cell holds 131,072
    path = project / "sheet.csv"
    rows = "".join(_effect_row(i, quote=quote) for i in range(15))  # 1.95 MB of cells, 2.03 MB as YAML
    path.write_text(",".join(SHEET_COLUMNS) + "\n" + rows, encoding="utf-8")
    code, out, _ = run(capsys, "import", str(path))
    assert code == 1 and list((project / "extracted").iterdir()) == []
    assert "would be an extraction file of more than 2,000,000 bytes" in out and len(out) < 2_000


def test_what_import_writes_review_check_accepts(project, capsys):
    """Just under the limit: written, and `review check` reads it (the two limits are one)."""
    quote = " ".join(["OR = 2.57; 95% CI 2.11-3.13"] * 4_640)
    path = project / "sheet.csv"
    rows = "".join(_effect_row(i, quote=quote) for i in range(14))  # 1.82 MB of cells, 1.89 MB as YAML
    path.write_text(",".join(SHEET_COLUMNS) + "\n" + rows, encoding="utf-8")
    code, out, _ = run(capsys, "import", str(path))
    written = project / "extracted" / "rothon2012.yaml"
    assert code == 0, out  # each quote is under a CSV cell's limit (131,072 characters)
    assert 1_800_000 < written.stat().st_size <= 2_000_000
    code, out, _ = run(capsys, "check")
    assert "bytes, far more than an extraction file holds" not in out


def test_thousands_of_problems_are_listed_briefly(project, capsys):
    path = project / "sheet.csv"
    rows = "".join(_effect_row(i, n="1,234") for i in range(5_000))
    path.write_text(",".join(SHEET_COLUMNS) + "\n" + rows, encoding="utf-8")
    code, out, _ = run(capsys, "import", str(path))
    assert code == 1 and list((project / "extracted").iterdir()) == []
    lines = out.splitlines()
    assert len(lines) == 52 and len(out) < 30_000
    assert lines[-2] == "  ... and 4,950 more (the first 50 are shown)"
    assert lines[-1].startswith("5,000 problem(s) in sheet.csv; nothing was written.")


def test_a_5000_digit_number_is_a_one_line_problem(project, capsys):
    path = project / "sheet.csv"
    path.write_text(",".join(SHEET_COLUMNS) + "\n" + _effect_row(1, n="9" * 5000), encoding="utf-8")
    code, out, err = run(capsys, "import", str(path))
    assert code == 1 and err == "" and list((project / "extracted").iterdir()) == []
    problem = out.splitlines()[0]
    assert problem.startswith(f"  - {path}, row 2, column n: '99999")
    assert "has 5,000 characters; no source prints a number that long" in problem and len(problem) < 300
    for text in ("1" + "0" * 400, "1e-400", "-" + "5" * 4400 + ".5"):
        with pytest.raises(cells.CellError):
            cells.parse_number(text)


def test_wrote_lines_name_row_runs_not_every_row():
    from analysis.review.importing import row_span

    assert row_span([2]) == "row 2"
    assert row_span([2, 3]) == "rows 2, 3"
    assert row_span([2, 3, 4, 9]) == "rows 2-4, 9"
    assert row_span(list(range(2, 100_002))) == "rows 2-100001"
    assert row_span(list(range(2, 100_002, 2))).endswith(" and 49992 more")
