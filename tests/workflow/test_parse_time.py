"""While the workflow is parsed it checks the settings and lists files: no program is run.

A fake `quarto` on PATH records each call; a dry run must not call it (the versions are
recorded by rule record_software, in a job), and must write nothing.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_dry_run_runs_no_program_and_writes_nothing(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    quarto = bin_dir / "quarto"
    quarto.write_text(f'#!/bin/sh\necho "$@" >> {calls}\necho 1.10.18\n', encoding="utf-8")
    quarto.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    results = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--config", f"results_dir={results}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "record_software" in done.stdout + done.stderr  # the versions are a job's work
    assert not calls.exists(), f"quarto was run while the workflow was parsed: {calls.read_text()}"
    assert not results.exists()
