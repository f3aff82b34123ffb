"""The input fingerprint (results/.cache/checked.json, a release's input_fingerprint) is the
sha256 of each input's name and bytes in sorted order, then the settings: computed here
step by step, it is what analysis.provenance.fingerprint and the rule check_inputs give."""

from __future__ import annotations

import hashlib
import json
import shutil

from analysis.inputs.check import report_check
from analysis.provenance import fingerprint
from tests.conftest import ROOT


def by_hand(paths: list[str], settings: dict) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        with open(path, "rb") as handle:
            digest.update(path.rsplit("/", 1)[-1].encode() + b"\0" + handle.read() + b"\0")
    digest.update(repr(sorted(settings.items())).encode())
    return digest.hexdigest()[:16]


def test_the_fingerprint_of_the_seed_corpus_is_the_recipes(tmp_path):
    extracted = tmp_path / "extracted"
    shutil.copytree(ROOT / "extracted", extracted)
    bib = ROOT / "references" / "references.bib"
    settings = {"tau2": "REML", "min_k": 2}
    checked = tmp_path / "results" / "checked" / "inputs.json"
    report_check(str(extracted), str(bib), str(tmp_path / "results" / ".cache" / "studies.pack"), settings,
                 str(checked), 1)  # fmt: skip
    inputs = [str(p) for p in sorted(extracted.glob("*.yaml"))] + [str(bib)]
    assert len(inputs) > 50
    want = by_hand(inputs, settings)
    assert (
        json.loads(checked.read_text(encoding="utf-8"))["fingerprint"]
        == want
        == fingerprint(inputs, settings)
    )
    (extracted / inputs[0].rsplit("/", 1)[-1]).write_bytes(
        b"# changed\n" + (extracted / inputs[0]).read_bytes()
    )
    assert fingerprint(inputs, settings) != want
