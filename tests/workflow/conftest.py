"""Run the real workflow on corpora in temporary folders, through the contract's --config."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REFERENCE_DATA, ROOT


def run_workflow(
    extracted: Path,
    bibliography: Path,
    results: Path,
    *targets: str,
    config: dict | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """`snakemake --cores 2 --config extracted_dir=... bibliography=... results_dir=...`."""
    settings = {
        "extracted_dir": extracted,
        "bibliography": bibliography,
        "results_dir": results,
        **(config or {}),
    }
    # Targets go before --config, which takes every following word as key=value.
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        "2",
        *targets,
        "--config",
        *[f"{k}={v}" for k, v in settings.items()],
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if check and done.returncode != 0:
        raise AssertionError(f"workflow failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}")
    return done


# A few real studies of extracted/: coded ones that pool together, and a narrative record.
SMALL_CORPUS = (
    "backhaus2020",
    "bayer2008",
    "bond2007",
    "hirota2022",
    "kingsbury2015",
    "lindstrom2016",
    "novak2015",
    "rothon2012",
)
BRIEF_TARGETS = ("brief/brief.html", "brief/brief.pdf")


def small_corpus(folder: Path) -> tuple[Path, Path]:
    """Copies of SMALL_CORPUS and of the bibliography (inputs never shared with ROOT)."""
    import shutil

    extracted = folder / "extracted"
    extracted.mkdir(parents=True)
    for key in SMALL_CORPUS:
        shutil.copy(ROOT / "extracted" / f"{key}.yaml", extracted)
    shutil.copytree(ROOT / "references", folder / "references")
    return extracted, folder / "references"


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _rows(name: str) -> list[dict]:
    return read_csv(REFERENCE_DATA / name)


def write_study(folder: Path, doc: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{doc['study']}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def reference_corpus(root: Path) -> tuple[Path, Path]:
    """A corpus built from metafor's reference datasets (metadat): each trial or study is
    one extraction file, so the workflow's pooled.csv can be compared to metafor.

    bcg (Colditz et al. 1994) as 2x2 counts (RR); molloy2014 (Molloy et al. 2014) as
    correlations; normand1999 (Normand 1999) as means and SDs (SMD); aloe2013 (Aloe &
    Thompson 2013) as regression t statistics (ZPCOR).
    """
    if not REFERENCE_DATA.is_dir():
        pytest.skip(f"metafor reference datasets not found at {REFERENCE_DATA}")
    extracted, bib = root / "extracted", root / "refs.bib"
    entries = []

    def add(key: str, effect: dict, country: str = "US", design: str = "rct") -> None:
        entries.append(f"@misc{{{key}, author={{Author, A.}}, title={{Study {key}}}, year={{2000}}}}")
        write_study(
            extracted,
            {
                "study": key,
                "design": design,
                "country": [country],
                "status": "coded",
                "identified_by": "packet-more",
                "effects": [{"locator": "metadat", "quote": "as in metadat", **effect}],
            },
        )

    for r in _rows("bcg.csv"):
        add(
            f"bcg{int(r['trial']):02d}",
            {
                "id": "tb",
                "theme": "linking",
                "outcome": "health",
                "measure": "RR",
                "counts": {
                    "ai": int(r["tpos"]),
                    "bi": int(r["tneg"]),
                    "ci": int(r["cpos"]),
                    "di": int(r["cneg"]),
                },
            },
            design="rct" if r["alloc"] == "random" else "quasi-experimental",
        )
    for i, r in enumerate(_rows("molloy2014.csv")):
        add(
            f"molloy{i + 1:02d}",
            {
                "id": "adherence",
                "theme": "bonding",
                "outcome": "health",
                "r": float(r["ri"]),
                "n": int(r["ni"]),
            },
            design="cohort",
        )
    for r in _rows("normand1999.csv"):
        groups = {
            "m1": float(r["m1i"]),
            "sd1": float(r["sd1i"]),
            "n1": int(r["n1i"]),
            "m2": float(r["m2i"]),
            "sd2": float(r["sd2i"]),
            "n2": int(r["n2i"]),
        }
        add(
            f"normand{int(r['study'])}",
            {"id": "stay", "theme": "workplace", "outcome": "other", "groups": groups, "measure": "SMD"},
        )
    for i, r in enumerate(_rows("aloe2013.csv")):
        add(
            f"aloe{i + 1}",
            {
                "id": "pcor",
                "theme": "education",
                "outcome": "education",
                "t": float(r["tval"]),
                "n": int(r["n"]),
                "predictors": int(r["preds"]),
            },
            design="cross-sectional",
        )
    bib.write_text("\n".join(entries) + "\n", encoding="utf-8")
    return extracted, bib
