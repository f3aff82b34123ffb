"""The brief's methods summarise double coding (PRISMA item 9) from extracted/second-coder/."""

from __future__ import annotations

import shutil

from tests.conftest import ROOT
from tests.workflow.conftest import run_workflow

FIXTURE = ROOT / "tests" / "data" / "brief"


def brief_source(tmp_path, second_coder: bool) -> str:
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURE, corpus)
    extracted = corpus / "extracted"
    if second_coder:
        first = sorted(extracted.glob("*.yaml"))[0]
        text = first.read_text(encoding="utf-8")
        design = next(line for line in text.splitlines() if line.startswith("design:"))
        other = "design: qualitative" if design != "design: qualitative" else "design: cohort"
        (extracted / "second-coder").mkdir()
        (extracted / "second-coder" / first.name).write_text(text.replace(design, other), encoding="utf-8")
    results = tmp_path / "results"
    run_workflow(extracted, corpus / "references", results, f"{results}/brief/brief.qmd")
    return (results / "brief" / "brief.qmd").read_text(encoding="utf-8")


def test_without_second_coder_the_brief_says_so(tmp_path):
    text = brief_source(tmp_path, second_coder=False)
    assert "no second coder's files were found" in text


def test_second_coder_agreement_is_summarised(tmp_path):
    text = brief_source(tmp_path, second_coder=True)
    assert "A second coder independently coded 1 of the studies" in text
    # The fixture's first coder did not answer it in the notes ("Double coding ..."), so it stays open.
    assert "1 disagreement(s) remain after comparison; `review agreement` lists them." in text
