"""A workflow killed mid-run (SIGKILL to its process group, as a power cut or the
out-of-memory killer would) leaves no corrupt output: the next run, with the
flags `make brief` uses, redoes what is incomplete, and the results equal an
uninterrupted run's byte for byte, with no partial or temporary file left.

Snakemake marks a job's outputs incomplete while it runs; after a kill it
refuses to go on without `--rerun-incomplete`, and its lock on the outputs
stays behind. The flags come from the Makefile's SNAKEMAKE line, so this test
checks what a reviewer's `make brief` does.
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.workflow.conftest import BRIEF_TARGETS, small_corpus

TARGETS = BRIEF_TARGETS
# Timings and logs differ from run to run by nature; everything else must not.
VOLATILE = ("logs", "benchmarks")
# The corpus builds in about ten seconds; a run that takes this long is stuck.
RUN_TIMEOUT = 600


def makefile_flags() -> list[str]:
    """The flags of the Makefile's SNAKEMAKE command, as make itself expands them (CORES=2)."""
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval", "print-snakemake: ; @echo $(SNAKEMAKE)",
         "print-snakemake", "CORES=2"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return shlex.split(done.stdout.split("snakemake", 1)[1])


def command(extracted: Path, bib: Path, results: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "snakemake",
        *makefile_flags(),
        *[str(results / t) for t in TARGETS],
        "--config",
        f"extracted_dir={extracted}",
        f"bibliography={bib}",
        f"results_dir={results}",
    ]


def run(extracted: Path, bib: Path, results: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        command(extracted, bib, results),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )


def start_and_kill(extracted: Path, bib: Path, results: Path, ready) -> None:
    """Start the workflow and SIGKILL its whole process group as soon as ``ready()`` holds."""
    with open(results.parent / f"{results.name}.log", "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            command(extracted, bib, results),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + RUN_TIMEOUT
        try:
            while not ready() and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == -signal.SIGKILL, (
        f"the run ended by itself before the kill ({process.returncode}); see {log.name}"
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).parts[0] not in VOLATILE
    }


def leftovers(folder: Path) -> list[str]:
    """Temporary files and folders (atomic writes, renderers) that outlived their job."""
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.name.endswith(".tmp") or re.fullmatch(r"tmp[\w-]{6,}", p.name) or ".snakemake" in p.name
    )


def forget_our_bookkeeping(prefix: Path) -> None:
    """Remove the locks and incomplete-markers Snakemake keeps for our folders, and only those."""
    meta = ROOT / ".snakemake"
    for lock in (meta / "locks").glob("*.lock"):
        try:
            if str(prefix) in lock.read_text(encoding="utf-8", errors="replace"):
                lock.unlink()
        except OSError:
            pass
    for marker in (meta / "incomplete").glob("*"):
        try:
            path = base64.urlsafe_b64decode(marker.name.encode()).decode()
        except ValueError:
            continue
        if path.startswith(str(prefix)):
            marker.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("interrupt")
    extracted, references = small_corpus(root)
    yield root, extracted, references
    forget_our_bookkeeping(root)


@pytest.fixture(scope="module")
def uninterrupted(corpus):
    root, extracted, bib = corpus
    results = root / "uninterrupted"
    done = run(extracted, bib, results)
    assert done.returncode == 0, done.stderr[-4000:]
    assert leftovers(results) == []
    return snapshot(results)


def effects_but_no_brief(results: Path):
    return lambda: (results / "effects.csv").exists() and not (results / TARGETS[0]).exists()


def rendering_pdf(results: Path):
    # The PDF is being made: its Typst source exists and the PDF does not yet. The HTML job
    # runs beside it (two cores) and may finish before or after, so it is not waited for.
    return lambda: not (results / TARGETS[1]).exists() and any((results / "brief").rglob("*.typ"))


@pytest.mark.parametrize(
    "moment",
    [effects_but_no_brief, rendering_pdf],
    ids=["after-effects-table", "while-rendering-the-pdf"],
)
def test_killed_run_is_completed_by_the_next(moment, corpus, uninterrupted):
    root, extracted, bib = corpus
    results = root / f"killed-{moment.__name__}"
    start_and_kill(extracted, bib, results, moment(results))
    assert not (results / TARGETS[1]).exists(), "the kill came after the run had finished"
    done = run(extracted, bib, results)
    output = done.stdout + done.stderr
    assert done.returncode == 0, (
        "the run after a kill failed; `make brief` needs `--rerun-incomplete` (and a way past the "
        f"killed run's lock) on the Makefile's SNAKEMAKE line:\n{output[-4000:]}"
    )
    assert "Traceback" not in output
    left = leftovers(results)
    assert left == [], f"partial or temporary files survived the rerun: {left}"
    after = snapshot(results)
    assert sorted(after) == sorted(uninterrupted)
    assert [name for name in after if after[name] != uninterrupted[name]] == []


def test_makefile_flags_are_read():
    flags = makefile_flags()
    assert flags[:2] == ["--cores", "2"], flags
