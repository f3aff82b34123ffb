"""Benchmark the whole workflow on synthetic corpora: every row of issue 14's table.

For each size N (default 1,000 and 10,000 studies; ``--huge 100000`` adds the
once-measured large corpus), a corpus is made by ``benchmarks/generate.py``
under ``--work`` (never in the repository) and built by ``make brief``'s
Snakemake command with ``--config`` pointing at it:

- **cold, whole brief**: an empty results folder, the default target (HTML,
  PDF and the rest; the operating system's file cache is warm);
- **no-op**: the same command again, nothing changed; one more no-op runs
  under ``strace -f -e trace=openat`` and counts the files it opened under the
  corpus, the bibliography and the results folder (a no-op should read
  nothing but file stamps, so the count should be 0);
- **cold, brief.html only** and **add one study, brief.html only** (the
  issue's "% of the cold build"): a second results folder, target
  ``RESULTS/brief/brief.html``; the next synthetic study and its BibTeX entry
  are added and the HTML rebuilt, repeated with the following studies;
- **edit one effect**, brief.html only: one number of one effect changed.

A run that takes under a minute is repeated (``--repeats``, default 3) and
the median reported; a cold build of a minute or more runs once. Each run
records its wall time, the peak of the summed RSS of the Snakemake process
tree (psutil, every 50 ms), the jobs that ran with Snakemake's reason, and each
job's time and max RSS from its ``benchmark:`` file. The markdown
(``benchmarks/report.py``) goes between the markers in BENCHMARKS.md
(``--markdown``), the raw data of each size to ``WORK/nN.json``.

Usage (from the repository root)::

    .venv/bin/python benchmarks/run.py                          # 1,000 and 10,000, ~15 min
    .venv/bin/python benchmarks/run.py --huge 100000            # and 100,000 once, ~+15 min
    .venv/bin/python benchmarks/run.py --sizes 200 --repeats 1  # a quick check
    .venv/bin/python benchmarks/run.py --sizes 1000 10000 --huge 100000 --report-only
        # the markdown again from the raw results of earlier runs (WORK/nN.json)
    .venv/bin/python benchmarks/run.py --shape single           # the issue's corpus, ~5 min

``--shape single`` measures the corpus of issue 14's outside run (one
correlation per study, so one analysis holds every study; ``generate.py``) in
corpora ``WORK/single-nN`` and writes its own section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import generate as gen  # noqa: E402 (after the path set-up)
from benchmarks import report  # noqa: E402

# One run may not take longer than this (a 100,000-study cold build takes minutes).
RUN_TIMEOUT = 3600
# Peak memory is sampled this often; jobs last seconds, so a peak is not missed.
POLL_SECONDS = 0.05
# Runs shorter than this are repeated and their median reported (issue 14).
REPEAT_BELOW_SECONDS = 60.0
HTML = ("brief", "brief.html")


def snakemake_command(
    extracted: Path | str, bib: Path | str, results: Path | str, *targets: str, direct: bool = False
) -> list[str]:
    """`make brief`'s command with the contract's --config: analysis.uptodate (its stamp check),
    then `.venv/bin/snakemake --cores 2 --resources brief_render=1 --rerun-incomplete --nolock`; ``direct``: Snakemake alone."""
    snakemake = Path(sys.executable).parent / "snakemake"
    check = [] if direct else [sys.executable, "-m", "analysis.uptodate"]
    # Targets go before --config, which takes every following word as key=value.
    return [
        *check,
        str(snakemake),
        "--cores",
        "2",
        "--resources",
        "brief_render=1",
        "--rerun-incomplete",
        "--nolock",
        *targets,
        "--config",
        f"extracted_dir={extracted}",
        f"bibliography={bib}",
        f"results_dir={results}",
    ]


def shown(command: list[str]) -> str:
    """A command as typed at the repository root."""
    text = shlex.join(command)
    return text.replace(str(Path(sys.executable).parent), ".venv/bin")


def _tree_rss(proc) -> int:
    import psutil

    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def _env() -> dict:
    # Jobs import `analysis` from this checkout (also when it is a copy of the repository).
    return dict(os.environ, PYTHONPATH=str(ROOT))


def run_snakemake(command: list[str]) -> dict:
    """Run one Snakemake command; return time, peak tree memory, jobs and output."""
    import psutil

    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env()
    )
    watched = psutil.Process(proc.pid)
    peak = [0]
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(watched))
            done.wait(POLL_SECONDS)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        output, _ = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    poller.join()
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake failed ({proc.returncode}):\n{output[-5000:]}")
    return record(
        {"seconds": wall, "peak_rss_mb": peak[0] / 2**20, "load_before": load, "jobs": parse_jobs(output)}
    )


def files_opened(command: list[str], roots: dict[str, Path]) -> dict:
    """Run ``command`` under ``strace -f -e trace=openat``; the files (not folders) it opened
    under each root, by root name. Needs strace; without it, says so."""
    if shutil.which("strace") is None:
        return {"error": "strace is not installed"}
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "trace"
        done = subprocess.run(
            ["strace", "-f", "-qq", "-e", "trace=openat", "-o", str(trace), *command],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=_env(),
            timeout=RUN_TIMEOUT,
        )
        if done.returncode != 0:
            return {"error": f"strace/snakemake failed ({done.returncode}): {done.stderr[-500:]}"}
        lines = trace.read_text(encoding="utf-8", errors="replace").splitlines()
    opened: dict[str, set[str]] = {name: set() for name in roots}
    call = re.compile(r'\A(?:\d+\s+)?openat\([^,]+, "((?:[^"\\]|\\.)*)", ([^,)]+)[^=]*= (-?\d+).*\Z')
    for line in lines:
        m = call.fullmatch(line)
        if not m or int(m.group(3)) < 0 or "O_DIRECTORY" in m.group(2):
            continue
        path = Path(m.group(1)) if m.group(1).startswith("/") else ROOT / m.group(1)
        for name, root in roots.items():
            if path == root or root in path.parents:
                opened[name].add(str(path))
    return {name: sorted(paths) for name, paths in opened.items()}


def parse_jobs(output: str) -> list[dict]:
    """The jobs Snakemake ran, from its log: rule, wildcards, benchmark file and reason."""
    jobs: list[dict] = []
    current: dict | None = None
    for line in output.splitlines():
        head = re.fullmatch(r"(?:local)?(?:rule|checkpoint) (\w+):", line)
        if head:
            current = {"rule": head.group(1)}
            jobs.append(current)
            continue
        field = re.fullmatch(r"    (\w+): (.*)", line)
        if current is not None and field:
            current[field.group(1)] = field.group(2)
        elif not line.startswith("    "):
            current = None
    return [j for j in jobs if j["rule"] != "all"]


def job_name(job: dict) -> str:
    wildcards = job.get("wildcards")
    return f"{job['rule']}[{wildcards.split('=')[-1]}]" if wildcards else job["rule"]


def benchmark_value(job: dict, column: str) -> float | None:
    """One column (``s``: wall seconds, ``max_rss``: MiB) of a job's benchmark: file."""
    path = job.get("benchmark")
    if not path or not Path(path).is_file():
        return None
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if len(lines) < 2:
        return None
    header, values = lines[0].split("\t"), lines[-1].split("\t")
    try:
        return float(values[header.index(column)])
    except ValueError:
        return None  # "NA" (a job too short to sample)


def record(run: dict) -> dict:
    """A run with each job's name, reason, benchmark time and max RSS."""
    jobs = [
        {
            "job": job_name(job),
            "rule": job["rule"],
            "reason": job.get("reason", ""),
            "seconds": benchmark_value(job, "s"),
            "max_rss_mb": benchmark_value(job, "max_rss"),
        }
        for job in run["jobs"]
    ]
    return run | {"jobs": jobs}


def corpus_size(results: Path) -> dict:
    """Studies, effects and analyses of a built corpus (from its CSV outputs)."""
    import csv

    def rows(name: str) -> int:
        path = results / name
        if not path.is_file():
            return 0
        with open(path, encoding="utf-8") as handle:
            return sum(1 for _ in csv.DictReader(handle))

    figures = results / "figures"
    return {
        "studies": rows("studies.csv"),
        "effects": rows("effects.csv"),
        "analyses": rows("pooled.csv"),
        "figures": len(list(figures.glob("*.svg"))) if figures.is_dir() else 0,
        "brief_html_mb": _mb(results / "brief" / "brief.html"),
        "brief_pdf_mb": _mb(results / "brief" / "brief.pdf"),
    }


def _mb(path: Path) -> float:
    return path.stat().st_size / 2**20 if path.is_file() else 0.0


def _cold(command: list[str], results: Path, repeats: int, label: str) -> list[dict]:
    """Cold builds (results folder emptied first), repeated while each takes under a minute."""
    runs: list[dict] = []
    for _ in range(repeats):
        if results.exists():
            shutil.rmtree(results)
        runs.append(run_snakemake(command))
        print(f"  {label}: {runs[-1]['seconds']:.1f} s, {runs[-1]['peak_rss_mb']:.0f} MiB", flush=True)
        if runs[-1]["seconds"] >= REPEAT_BELOW_SECONDS:
            break
    return runs


def _again(command: list[str], repeats: int, label: str, change=None) -> list[dict]:
    runs: list[dict] = []
    for _ in range(repeats):
        note = change() if change else ""
        runs.append(run_snakemake(command))
        print(f"  {label} {note}: {runs[-1]['seconds']:.1f} s", flush=True)
        if runs[-1]["seconds"] >= REPEAT_BELOW_SECONDS:
            break
    return runs


def bench_corpus(n: int, args: argparse.Namespace, huge: bool = False) -> dict:
    """Every scenario at one size (at a huge size: the whole brief cold and a no-op, once)."""
    out = args.work / _name(n, args.shape)
    extracted, bib = out / "extracted", out / "references.bib"
    if huge and _is_generated(extracted, bib, n):
        print(f"N = {n:,}: the corpus of an earlier run, unchanged", flush=True)
        for results in (out / "results", out / "results-html"):
            shutil.rmtree(results, ignore_errors=True)
    else:
        shutil.rmtree(out, ignore_errors=True)
        print(f"N = {n:,}: generating", flush=True)
        extracted, bib = gen.generate(n, args.seed, out, args.shape)
    whole, html = out / "results", out / "results-html"
    command = snakemake_command(extracted, bib, whole)
    repeats = 1 if huge else args.repeats
    runs: dict[str, list[dict]] = {"cold": _cold(command, whole, repeats, "cold, whole brief")}
    size = corpus_size(whole)
    runs["noop"] = _again(command, repeats, "no-op")
    # For comparison: Snakemake deciding by itself that nothing is to be done.
    runs["noop_snakemake"] = _again(snakemake_command(extracted, bib, whole, direct=True), repeats,
                                    "no-op, Snakemake alone")  # fmt: skip
    reads = files_opened(command, {"extracted_dir": extracted, "bibliography": bib, "results_dir": whole})
    print(f"  no-op opened: { {k: len(v) for k, v in reads.items()} }", flush=True)
    entry = {
        "n": n, "shape": args.shape, "size": size, "runs": runs, "noop_reads": reads, "command": shown(command),
    }  # fmt: skip
    if huge:
        return entry
    target = str(html.joinpath(*HTML))
    html_command = snakemake_command(extracted, bib, html, target)
    runs["cold_html"] = _cold(html_command, html, repeats, "cold, brief.html")

    def add() -> str:
        return gen.add_study(extracted, bib, args.seed, args.shape).name

    runs["add_html"] = _again(html_command, repeats, "add one study", add)
    runs["edit_html"] = _again(html_command, 1, "edit one effect", lambda: gen.edit_effect(extracted).name)
    return entry | {"html_command": shown(html_command)}


def _name(n: int, shape: str) -> str:
    """The folder (and, with ``.json``, the raw results) of a corpus under WORK."""
    return f"n{n}" if shape == "mixed" else f"{shape}-n{n}"


def _is_generated(extracted: Path, bib: Path, n: int) -> bool:
    """A huge corpus (built once, never changed by a run) is reused when its files are
    exactly studies 1..n: generating 100,000 studies takes minutes."""
    if not bib.is_file() or not extracted.is_dir():
        return False
    names = {p.name for p in extracted.iterdir()}
    return (
        len(names) == n
        and f"{gen.study_key(n)}.yaml" in names
        and f"{gen.study_key(n + 1)}.yaml" not in names
    )


def machine() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem_kb = int(line.split()[1])
    snakemake = subprocess.run(
        [str(Path(sys.executable).parent / "snakemake"), "--version"], capture_output=True, text=True
    ).stdout.strip()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "snakemake": snakemake,
        "os": platform.platform(),
        "commit": commit + (" + uncommitted changes" if dirty else ""),
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--huge", type=int, nargs="*", default=[], help="sizes built once (e.g. 100000)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of runs under a minute")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shape", choices=gen.SHAPES, default="mixed", help="the corpus (generate.py)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/evidence-bench"))
    parser.add_argument("--markdown", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: write the markdown from WORK/nN.json of earlier runs of these sizes",
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    info = machine()
    corpora = []
    for n in [*args.sizes, *args.huge]:
        saved = args.work / f"{_name(n, args.shape)}.json"
        if args.report_only:
            corpora.append(json.loads(saved.read_text(encoding="utf-8")))
            continue
        corpora.append(bench_corpus(n, args, huge=n in args.huge) | {"machine": info, "argv": sys.argv[1:]})
        saved.write_text(json.dumps(corpora[-1], indent=1), encoding="utf-8")
    raw = {"machine": corpora[0].get("machine", info) if corpora else info, "corpora": corpora}
    raw["argv"] = sys.argv[1:]
    block = report.measured_block(raw, args.shape)
    report.write_markdown(args.markdown, block, args.shape)
    print(block)
    print(f"raw results: {args.work}/n*.json")


if __name__ == "__main__":
    main()
