"""`make brief`'s no-op check (analysis/uptodate.py): a build is skipped only when no
stamp of its inputs, code or results changed since the last run that ended well."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import uptodate

# A stand-in for Snakemake: writes one result (and counts its runs) under results_dir.
FAKE = """
import sys, pathlib
results = pathlib.Path(sys.argv[sys.argv.index('--config') + 1:][-1].split('=', 1)[1])
results.mkdir(parents=True, exist_ok=True)
runs = results / 'runs.txt'
runs.write_text(runs.read_text() + 'x' if runs.exists() else 'x')
# What waits for this run: the name of the parent process.
(results / 'parent.txt').write_text(open(f'/proc/{__import__("os").getppid()}/comm').read().strip())
sys.exit(int(__import__('os').environ.get('FAKE_EXIT', '0')))
"""


@pytest.fixture
def build(tmp_path, monkeypatch):
    """A corpus, a bibliography and a command that "builds" into tmp_path/results."""
    extracted = tmp_path / "extracted"
    extracted.mkdir()
    (extracted / "a2020.yaml").write_text("study: a\n", encoding="utf-8")
    bib = tmp_path / "refs.bib"
    bib.write_text("@article{a2020,}\n", encoding="utf-8")
    fake = tmp_path / "fake_snakemake.py"
    fake.write_text(FAKE, encoding="utf-8")
    results = tmp_path / "results"
    command = [sys.executable, str(fake), "--cores", "2", "--rerun-incomplete", "--nolock", "--config",
               f"extracted_dir={extracted}", f"bibliography={bib}", f"results_dir={results}"]  # fmt: skip
    monkeypatch.delenv("SNAKEMAKE_PROFILE", raising=False)
    monkeypatch.delenv("FAKE_EXIT", raising=False)

    def runs() -> int:
        path = results / "runs.txt"
        return len(path.read_text()) if path.exists() else 0

    return command, extracted, bib, results, runs


def test_second_run_is_skipped_and_says_so(build, capsys):
    command, _, _, results, runs = build
    assert uptodate.run(command) == 0
    assert runs() == 1
    assert (results / uptodate.RECORD).is_file()
    assert uptodate.run(command) == 0
    assert runs() == 1
    assert "Nothing to be done" in capsys.readouterr().err


def _touch(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


@pytest.mark.parametrize(
    "change",
    ["edit a study", "add a study", "edit the bibliography", "delete a result", "touch a result",
     "other targets", "epoch"],
)  # fmt: skip
def test_any_change_runs_snakemake(build, change, monkeypatch):
    command, extracted, bib, results, runs = build
    uptodate.run(command)
    if change == "edit a study":
        _touch(extracted / "a2020.yaml")
    elif change == "add a study":
        (extracted / "b2021.yaml").write_text("study: b\n", encoding="utf-8")
    elif change == "edit the bibliography":
        bib.write_text("@article{a2020, title={T}}\n", encoding="utf-8")
    elif change == "delete a result":
        (results / "extra.csv").write_text("x\n", encoding="utf-8")
        uptodate.run(command)  # recorded with extra.csv
        (results / "extra.csv").unlink()
    elif change == "touch a result":
        _touch(results / "runs.txt")
    elif change == "other targets":
        command = command[:2] + [str(results / "brief" / "brief.html")] + command[2:]
    elif change == "epoch":
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234567890")
    before = runs()
    uptodate.run(command)
    assert runs() == before + 1


def _module(command: list[str], **env: str) -> subprocess.CompletedProcess:
    """``python -m analysis.uptodate COMMAND``, the Makefile's way in."""
    return subprocess.run([sys.executable, "-m", "analysis.uptodate", *command], capture_output=True,
                          text=True, env={**os.environ, **env}, cwd=uptodate.ROOT)  # fmt: skip


def test_module_waits_in_a_shell_and_records_after_the_run(build):
    command, extracted, _, results, runs = build
    done = _module(command)
    assert done.returncode == 0, done.stderr
    # No Python process held its memory while the build ran: a shell waited for it.
    assert (results / "parent.txt").read_text() == "sh"
    assert (results / uptodate.RECORD).is_file()
    again = _module(command)
    assert again.returncode == 0 and "Nothing to be done" in again.stderr
    assert runs() == 1
    _touch(extracted / "a2020.yaml")
    failed = _module(command, FAKE_EXIT="3")
    assert failed.returncode == 3  # Snakemake's exit code, passed on
    assert runs() == 2 and not (results / uptodate.RECORD).exists()


def test_module_leaves_unjudged_commands_to_snakemake(build):
    command, _, _, results, runs = build
    done = _module(command, SNAKEMAKE_PROFILE="profiles/slurm")
    assert done.returncode == 0 and runs() == 1
    assert (results / "parent.txt").read_text() != "sh"  # run in place of the module itself
    assert not (results / uptodate.RECORD).exists()


def test_failed_run_leaves_no_record(build, monkeypatch):
    command, extracted, _, results, runs = build
    uptodate.run(command)
    _touch(extracted / "a2020.yaml")
    monkeypatch.setenv("FAKE_EXIT", "1")
    assert uptodate.run(command) == 1
    assert not (results / uptodate.RECORD).exists()
    monkeypatch.delenv("FAKE_EXIT")
    uptodate.run(command)
    assert runs() == 3  # the failure is never taken for a finished build


def test_damaged_record_means_snakemake_runs(build):
    command, _, _, results, runs = build
    uptodate.run(command)
    (results / uptodate.RECORD).write_text("{not json", encoding="utf-8")
    uptodate.run(command)
    assert runs() == 2


@pytest.mark.parametrize(
    "args",
    [["--forceall"], ["-n"], ["--profile", "x"], ["--config", "atlas={}"], ["--config", "novalue"]],
)
def test_unknown_flags_go_to_snakemake(args):
    with pytest.raises(uptodate.NotSimple):
        uptodate.parse_command(["--cores", "2", *args])


def test_profile_in_environment_always_runs(build, monkeypatch):
    command, _, _, _, runs = build
    uptodate.run(command)
    monkeypatch.setenv("SNAKEMAKE_PROFILE", "profiles/slurm")
    uptodate.run(command)
    assert runs() == 2


def test_makefile_form_is_read():
    targets, overrides = uptodate.parse_command(
        ["--cores", "2", "--resources", "brief_render=1", "--rerun-incomplete", "--nolock",
         "results/brief/brief.html",
         "--config", "results_dir=/tmp/r", "estimator=DL"]
    )  # fmt: skip
    assert targets == ["results/brief/brief.html"]
    assert overrides == {"results_dir": "/tmp/r", "estimator": "DL"}
