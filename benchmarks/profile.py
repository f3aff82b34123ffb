"""Where the time and memory of a cold build go: per job, and the top functions of the slowest jobs.

Builds a synthetic corpus of N studies cold (the whole brief, ``make brief``'s
command) with ``benchmarks/profile_hook`` on PYTHONPATH, so that every rule
script runs under cProfile (a few % slower than unprofiled; the per-job times
come from the ``benchmark:`` files, which the profiler inflates a little).
Writes a markdown section: each job's seconds and max RSS, sorted by time, and
for the ``--top-jobs`` slowest Python jobs the functions with the largest
cumulative time inside ``analysis/`` and the largest own time anywhere.
Processes forked by a job (the figure pool) are not profiled: their work shows
as waiting in the parent.

Usage (from the repository root)::

    .venv/bin/python benchmarks/profile.py 10000 [--markdown BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import os
import pstats
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import generate as gen  # noqa: E402 (after the path set-up)
from benchmarks import run  # noqa: E402

BEGIN = "<!-- BEGIN PROFILE {n} (written by benchmarks/profile.py) -->"
END = "<!-- END PROFILE {n} -->"


def _where(func: tuple) -> str:
    file, line, name = func
    path = Path(file)
    try:
        short = str(path.resolve().relative_to(ROOT))
    except ValueError:
        parts = path.parts
        short = "/".join(parts[parts.index("site-packages") + 1 :]) if "site-packages" in parts else path.name
    return f"`{name}` ({short}:{line})" if line else f"`{name}`"


def top_functions(prof: Path, limit: int) -> list[str]:
    """Two small tables: cumulative time of analysis/ functions, and own time of any function."""
    stats = pstats.Stats(str(prof))
    entries = stats.stats  # func -> (cc, nc, tt, ct, callers)
    total = max((ct for _, _, _, ct, _ in entries.values()), default=0.0)
    ours = [
        (f, v)
        for f, v in entries.items()
        if str(ROOT / "analysis") in str(Path(f[0]).resolve()) and f[2] != "<module>"
    ]
    ours.sort(key=lambda fv: -fv[1][3])
    own = sorted(entries.items(), key=lambda fv: -fv[1][2])
    lines = [
        f"Total profiled: {total:.1f} s.",
        "",
        "| function (analysis/) | calls | cumulative s |",
        "|---|---:|---:|",
    ]
    lines += [f"| {_where(f)} | {v[1]:,} | {v[3]:.2f} |" for f, v in ours[:limit]]
    lines += ["", "| function (any, own time) | calls | own s |", "|---|---:|---:|"]
    lines += [f"| {_where(f)} | {v[1]:,} | {v[2]:.2f} |" for f, v in own[:limit]]
    return lines


def profile(n: int, work: Path, seed: int, top_jobs: int, limit: int) -> str:
    out = work / f"profile-n{n}"
    if out.exists():
        shutil.rmtree(out)
    print(f"N = {n:,}: generating", flush=True)
    extracted, bib = gen.generate(n, seed, out)
    results = out / "results"
    profiles = out / "profiles"
    profiles.mkdir()
    command = run.snakemake_command(extracted, bib, results)
    hook = str(ROOT / "benchmarks" / "profile_hook")
    os.environ["BENCH_PROFILE_DIR"] = str(profiles)
    try:
        result = _run_with_hook(command, hook)
    finally:
        del os.environ["BENCH_PROFILE_DIR"]
    jobs = sorted(result["jobs"], key=lambda j: -(j["seconds"] or 0))
    lines = [
        BEGIN.format(n=n),
        "",
        f"### Cold build at N = {n:,}: {result['seconds']:.1f} s wall, peak {result['peak_rss_mb']:.0f} MiB "
        "(summed RSS of the tree), under cProfile",
        "",
        "| job | s | max RSS MiB |",
        "|---|---:|---:|",
    ]
    for j in jobs:
        mem = f"{j['max_rss_mb']:.0f}" if j["max_rss_mb"] is not None else "-"
        lines.append(f"| `{j['job']}` | {j['seconds'] or 0:.1f} | {mem} |")
    shown = 0
    for j in jobs:
        found = sorted(profiles.glob(f"{j['rule']}.*.prof"))
        if not found or shown >= top_jobs:
            continue
        shown += 1
        lines += ["", f"#### `{j['job']}` ({j['seconds'] or 0:.1f} s)", ""] + top_functions(found[0], limit)
        found[0].unlink()  # the next job of this rule (a shard) takes the next file
    lines += ["", "Command: `" + run.shown([sys.executable, "benchmarks/profile.py", *sys.argv[1:]]) + "`"]
    lines += ["", END.format(n=n)]
    return "\n".join(lines)


def _run_with_hook(command: list[str], hook: str) -> dict:
    original = run._env

    def env() -> dict:
        return dict(original(), PYTHONPATH=f"{hook}{os.pathsep}{ROOT}")

    run._env = env
    try:
        return run.run_snakemake(command)
    finally:
        run._env = original


def write_section(path: Path, block: str, n: int) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    begin, end = BEGIN.format(n=n), END.format(n=n)
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text + ("\n" if text else "") + block + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "evidence-bench")
    parser.add_argument("--top-jobs", type=int, default=4)
    parser.add_argument("--limit", type=int, default=10, help="functions per table")
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    block = profile(args.n, args.work, args.seed, args.top_jobs, args.limit)
    if args.markdown:
        write_section(args.markdown, block, args.n)
    print(block)


if __name__ == "__main__":
    main()
