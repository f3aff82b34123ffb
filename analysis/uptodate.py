"""`make brief` when nothing changed: compare file stamps, start nothing.

Snakemake needs about 2.5 s to decide that nothing is to be done (importing
itself and its plugins, parsing the workflow, building the job graph), more as
the corpus grows. ``python -m analysis.uptodate SNAKEMAKE ARGS...`` is the
Makefile's way in: it compares the stamps (path, size, mtime, inode; no file is
opened) of everything the build depends on and of everything it wrote with
those recorded after the last run that ended well. When they are equal it says
so and exits; otherwise it runs the Snakemake command it was given, unchanged,
and records the stamps when that run succeeds.

What is stamped:

- the repository (code, rules, templates, schemas, config, the lock file; every
  file but the ignored folders below), git's HEAD, its log and the index (the
  commit is in the brief), and the environment's install stamp;
- the corpus (``extracted_dir``, ``bibliography``) and the Atlas data folder,
  wherever they are;
- the results folder, after the run (a result deleted or touched since means
  Snakemake runs);
- the command's arguments, the environment variables the build reads, and the
  ``quarto`` the renderer setting ``auto`` would find on PATH.

Anything this module cannot interpret (a flag other than the Makefile's, a
``--config`` value of a nested setting, a Snakemake profile in the
environment) sends the command to Snakemake; so does a missing or unreadable
record. The record is removed before Snakemake starts, so a killed or failed
run leaves none. Only the standard library and PyYAML are imported.

While Snakemake runs, no Python process waits for it: ``python -m analysis.uptodate``
replaces itself with a shell (about 1 MiB instead of Python's 19) that runs the command
and then ``python -m analysis.uptodate --finish CODE STATE COMMAND...`` (STATE: the
inputs' state taken before the run, as JSON), which records the stamps when the run
ended well and no input changed meanwhile, and exits with Snakemake's code. Nothing is
written before Snakemake has checked the settings.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORD = Path(".cache") / "uptodate.json"
RECORD_VERSION = 1
# Repository folders that no build reads (and that change under it).
IGNORED = {".git", ".venv", ".snakemake", ".cache", "__pycache__", ".pytest_cache", ".ruff_cache",
           ".hypothesis", "node_modules", "build"}  # fmt: skip
# The commit checked out (the brief names it): HEAD, and HEAD's log, which every commit,
# checkout or reset here appends to; commits on other branches or worktrees change neither.
GIT_STATE = (".git/HEAD", ".git/logs/HEAD", ".git/index")
INSTALL_STAMP = ".venv/.installed"
# Environment variables the workflow reads (provenance: epoch, release label; PATH: the renderer).
ENVIRONMENT = ("SOURCE_DATE_EPOCH", "BRIEF_RELEASE", "PATH")
# The Makefile's flags: with any other, Snakemake decides.
SIMPLE_FLAGS = {"--rerun-incomplete", "--nolock"}
VALUED_FLAGS = {"--cores", "--resources"}
# Settings that name files; a --config override of any other nested setting is not read here.
PATH_SETTINGS = ("extracted_dir", "bibliography", "results_dir")


class NotSimple(Exception):
    """The command is not one this module can judge: Snakemake decides."""


def parse_command(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """Targets and ``--config`` overrides of a Snakemake argument list, or NotSimple."""
    targets: list[str] = []
    overrides: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in SIMPLE_FLAGS:
            i += 1
        elif arg in VALUED_FLAGS and i + 1 < len(args):
            i += 2
        elif arg == "--config":
            for item in args[i + 1 :]:
                key, sep, value = item.partition("=")
                if not sep or key == "atlas" or key.startswith("-"):
                    raise NotSimple(item)
                overrides[key] = value
            break
        elif arg.startswith("-"):
            raise NotSimple(arg)
        else:
            targets.append(arg)
            i += 1
    return targets, overrides


def settings(overrides: dict[str, str], root: Path = ROOT) -> dict[str, str]:
    """The folders the build reads and writes: config/config.yaml, then the overrides."""
    import yaml

    with open(root / "config" / "config.yaml", encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    found = {key: str(config[key]) for key in PATH_SETTINGS}
    found["atlas_dir"] = str(config["atlas"]["dir"])
    found.update({k: v for k, v in overrides.items() if k in PATH_SETTINGS})
    return {key: str((root / value).resolve()) for key, value in found.items()}


def _stamp(path: Path, stat: os.stat_result) -> str:
    return f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ino}"


def stamps(path: Path, skip: set[Path] = frozenset()) -> list[str]:
    """The stamp of every file under ``path`` (or of ``path``), sorted; folders in ``skip``
    and ignored folder names are not entered. A missing path is one stamp, "missing"."""
    try:
        stat = path.stat()
    except OSError:
        return [f"{path}\0missing"]
    if not path.is_dir():
        return [_stamp(path, stat)]
    found: list[str] = []
    todo = [path]
    while todo:
        folder = todo.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                full = Path(entry.path)
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in IGNORED and full not in skip:
                        todo.append(full)
                elif entry.is_file():
                    found.append(_stamp(full, entry.stat()))
    return sorted(found)


def _digest(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest()


def input_state(command: list[str], folders: dict[str, str], root: Path = ROOT) -> dict:
    """Digest of everything the build depends on (see the module's docstring)."""
    results = Path(folders["results_dir"])
    lines = [json.dumps(command)]
    lines += [f"env {name}={os.environ.get(name, '')}" for name in ENVIRONMENT]
    quarto = shutil.which("quarto")
    lines += stamps(Path(quarto).resolve()) if quarto else ["no quarto on PATH"]
    lines += stamps(root, skip={results})
    for name in (*GIT_STATE, INSTALL_STAMP):
        lines += stamps(root / name)
    for key in ("extracted_dir", "bibliography", "atlas_dir"):
        lines += stamps(Path(folders[key]), skip={results})
    return {"files": len(lines), "digest": _digest(lines)}


def output_state(folders: dict[str, str]) -> dict:
    results = Path(folders["results_dir"])
    lines = [s for s in stamps(results) if not s.startswith(str(results / RECORD) + "\0")]
    return {"files": len(lines), "digest": _digest(lines)}


def _read_record(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("version") == RECORD_VERSION else None


def up_to_date(command: list[str], folders: dict[str, str]) -> tuple[bool, dict]:
    """Whether the last good run's record matches the stamps now; and the inputs' state."""
    state = input_state(command, folders)
    record = _read_record(Path(folders["results_dir"]) / RECORD)
    if record is None or record.get("inputs") != state:
        return False, state
    return record.get("results") == output_state(folders), state


def write_record(folders: dict[str, str], inputs: dict) -> None:
    """Record the inputs' state taken before the run and the results' state after it."""
    from analysis.io import write_text_atomic

    record = {"version": RECORD_VERSION, "inputs": inputs, "results": output_state(folders)}
    write_text_atomic(Path(folders["results_dir"]) / RECORD, json.dumps(record, indent=1) + "\n")


def _folders(command: list[str]) -> dict[str, str] | None:
    """The folders of a command this module can judge, else None (Snakemake decides)."""
    try:
        if os.environ.get("SNAKEMAKE_PROFILE"):
            raise NotSimple("SNAKEMAKE_PROFILE")
        _, overrides = parse_command(command[1:])
        return settings(overrides)
    except (NotSimple, OSError, KeyError, TypeError, ValueError):
        return None


def start(command: list[str]) -> dict | None:
    """Before a run: say "nothing to be done" and return None when the stamps match the
    last good run's; else remove the record and return the inputs' state."""
    folders = _folders(command)
    if folders is None:
        return {}
    fresh, before = up_to_date(command, folders)
    if fresh:
        print(
            f"Nothing to be done: no input, code or result changed since the last complete run "
            f"({before['files']} file stamps compared, no file read). Snakemake itself decides "
            f"when run directly: {' '.join(command)}",
            file=sys.stderr,
        )
        return None
    (Path(folders["results_dir"]) / RECORD).unlink(missing_ok=True)
    return before


def finish(command: list[str], code: int, before: dict) -> int:
    """After a run that exited with ``code``: record the stamps if it ended well and no
    input changed while it ran (``before`` is :func:`start`'s state); return ``code``."""
    folders = _folders(command)
    if folders is not None and before and code == 0 and input_state(command, folders) == before:
        write_record(folders, before)
    return code


def run(command: list[str]) -> int:
    """Say "nothing to be done" or run ``command`` (a Snakemake command line) and record
    the stamps when it ends well; its exit code. The same as ``python -m analysis.uptodate``,
    in this process."""
    before = start(command)
    if before is None:
        return 0
    return finish(command, subprocess.call(command), before)


# Runs the command, then hands its exit code and the state before it to --finish.
SHELL_SCRIPT = (
    'python="$1"; state="$2"; shift 2; "$@"; code=$?; '
    'exec "$python" -m analysis.uptodate --finish "$code" "$state" "$@"'
)


def main(argv: list[str]) -> int:
    """``python -m analysis.uptodate SNAKEMAKE ARGS...`` (see the module's docstring)."""
    if argv[:1] == ["--finish"]:
        try:
            before = json.loads(argv[2])
        except ValueError:
            before = {}
        return finish(argv[3:], int(argv[1]), before if isinstance(before, dict) else {})
    before = start(argv)
    if before is None:
        return 0
    if not before:  # a command this module cannot judge: Snakemake alone
        os.execvp(argv[0], argv)
    os.execv("/bin/sh", ["sh", "-c", SHELL_SCRIPT, "sh", sys.executable, json.dumps(before), *argv])
    return 1  # not reached: exec replaced this process


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python -m analysis.uptodate SNAKEMAKE [ARGS...]")
    sys.exit(main(sys.argv[1:]))
