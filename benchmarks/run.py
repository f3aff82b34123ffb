"""Benchmark the whole workflow on synthetic corpora and on the seed corpus.

For each size N (default 30, 1,000 and 10,000 studies, made by
``benchmarks/generate.py`` under ``--work``, never in the repository) and for
each repeat, four runs of ``make brief``'s Snakemake command with ``--config``
pointing at the corpus:

- cold: an empty results folder (the operating system's file cache is warm:
  the corpus was just written);
- no-op: the same again, nothing changed;
- add one study: the next synthetic study and its BibTeX entry added;
- edit one effect: one number of one effect changed.

Each run records its wall time, the peak memory of the Snakemake process tree
(the sum of the resident set sizes of Snakemake and all its children, polled
every 50 ms with psutil), the jobs that ran with Snakemake's reason, and each
job's time from its ``benchmark:`` file. The seed corpus (``extracted/`` and
``references/``) gets cold builds, and ``benchmarks/engine.py`` the engine's
own timings. Figures are medians over the repeats; the markdown goes between
the markers in BENCHMARKS.md (``--markdown``), the raw data to ``--json``.

Usage (from the repository root)::

    .venv/bin/python benchmarks/run.py                       # everything, ~40 min
    .venv/bin/python benchmarks/run.py --sizes 30 --repeats 1 --no-seed --no-engine
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import generate as gen  # noqa: E402 (after the path set-up)

BEGIN = "<!-- BEGIN MEASURED (written by benchmarks/run.py) -->"
END = "<!-- END MEASURED -->"
SCENARIOS = ("cold", "noop", "add", "edit")
SCENARIO_NAMES = {
    "cold": "cold build",
    "noop": "no-op rebuild",
    "add": "add one study",
    "edit": "edit one effect",
}
# One run may not take longer than this (a 10,000-study cold build takes ~2 min).
RUN_TIMEOUT = 1800
# Peak memory is sampled this often; jobs last seconds, so a peak is not missed.
POLL_SECONDS = 0.05


def snakemake_command(extracted: Path | str, bib: Path | str, results: Path | str) -> list[str]:
    """`make brief`'s command (`.venv/bin/snakemake --cores 2`) with the contract's --config."""
    snakemake = Path(sys.executable).parent / "snakemake"
    return [
        str(snakemake),
        "--cores",
        "2",
        "--config",
        f"extracted_dir={extracted}",
        f"bibliography={bib}",
        f"results_dir={results}",
    ]


def shown(command: list[str]) -> str:
    """A command as typed at the repository root."""
    text = shlex.join(command)
    return text.replace(str(Path(sys.executable).parent), ".venv/bin", 1)


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


def run_snakemake(command: list[str]) -> dict:
    """Run one Snakemake command; return time, peak tree memory, jobs and output."""
    import psutil

    load = os.getloadavg()[0]
    start = time.perf_counter()
    # Jobs import `analysis` from this checkout (also when it is a copy of the repository).
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
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
    return {
        "seconds": wall,
        "peak_rss_mb": peak[0] / 2**20,
        "load_before": load,
        "jobs": parse_jobs(output),
        "output": output,
    }


def parse_jobs(output: str) -> list[dict]:
    """The jobs Snakemake ran, from its log: rule, wildcards, benchmark file and reason."""
    jobs: list[dict] = []
    current: dict | None = None
    for line in output.splitlines():
        head = re.match(r"^(?:local)?(?:rule|checkpoint) (\w+):$", line)
        if head:
            current = {"rule": head.group(1)}
            jobs.append(current)
            continue
        field = re.match(r"^    (\w+): (.*)$", line)
        if current is not None and field:
            current[field.group(1)] = field.group(2)
        elif not line.startswith("    "):
            current = None
    return [j for j in jobs if j["rule"] != "all"]


def job_name(job: dict) -> str:
    wildcards = job.get("wildcards")
    return f"{job['rule']}[{wildcards.split('=')[-1]}]" if wildcards else job["rule"]


def benchmark_seconds(job: dict) -> float | None:
    """Wall seconds of one job from its benchmark: file (Snakemake's `s` column)."""
    path = job.get("benchmark")
    if not path or not Path(path).is_file():
        return None
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if len(lines) < 2:
        return None
    header, values = lines[0].split("\t"), lines[-1].split("\t")
    return float(values[header.index("s")])


def benchmark_rss(job: dict) -> float | None:
    path = job.get("benchmark")
    if not path or not Path(path).is_file():
        return None
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    header, values = lines[0].split("\t"), lines[-1].split("\t")
    try:
        return float(values[header.index("max_rss")])
    except ValueError:
        return None


def corpus_size(results: Path) -> dict:
    """Studies, effects and analyses of a built corpus (from its CSV outputs)."""

    def rows(name: str) -> int:
        path = results / name
        if not path.is_file():
            return 0
        with open(path, encoding="utf-8") as handle:
            import csv

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


def record(run: dict) -> dict:
    """A run without its full output, with each job's benchmark time."""
    jobs = []
    for job in run["jobs"]:
        jobs.append(
            {
                "job": job_name(job),
                "rule": job["rule"],
                "reason": job.get("reason", ""),
                "seconds": benchmark_seconds(job),
                "max_rss_mb": benchmark_rss(job),
            }
        )
    return {k: v for k, v in run.items() if k not in ("jobs", "output")} | {"jobs": jobs}


def bench_corpus(n: int, repeat: int, seed: int, work: Path) -> dict:
    out = work / f"n{n}"
    if out.exists():
        shutil.rmtree(out)
    extracted, bib = gen.generate(n, seed, out)
    results = out / "results"
    command = snakemake_command(extracted, bib, results)
    runs = {}
    print(f"N = {n}, repeat {repeat + 1}: cold", flush=True)
    runs["cold"] = record(run_snakemake(command))
    size = corpus_size(results)
    print(f"  {runs['cold']['seconds']:.1f} s; no-op", flush=True)
    runs["noop"] = record(run_snakemake(command))
    added = gen.add_study(extracted, bib, seed)
    print(f"  {runs['noop']['seconds']:.1f} s; add {added.name}", flush=True)
    runs["add"] = record(run_snakemake(command))
    edited = gen.edit_effect(extracted)
    print(f"  {runs['add']['seconds']:.1f} s; edit {edited.name}", flush=True)
    runs["edit"] = record(run_snakemake(command))
    print(f"  {runs['edit']['seconds']:.1f} s", flush=True)
    return {"n": n, "repeat": repeat, "size": size, "runs": runs, "command": shown(command)}


def bench_seed(repeat: int, work: Path) -> dict:
    results = work / "seed" / "results"
    if results.exists():
        shutil.rmtree(results)
    command = snakemake_command("extracted", "references", results)
    print(f"seed corpus, repeat {repeat + 1}: cold", flush=True)
    cold = record(run_snakemake(command))
    noop = record(run_snakemake(command))
    print(f"  {cold['seconds']:.1f} s, no-op {noop['seconds']:.1f} s", flush=True)
    return {
        "n": "seed",
        "repeat": repeat,
        "size": corpus_size(results),
        "runs": {"cold": cold, "noop": noop},
        "command": shown(command),
    }


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
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "snakemake": snakemake,
        "os": platform.platform(),
        "kernel": platform.release(),
    }


def engine_timings() -> str:
    script = ROOT / "benchmarks" / "engine.py"
    if not script.is_file():
        return "benchmarks/engine.py is absent: no engine timings."
    print("engine timings (benchmarks/engine.py)", flush=True)
    done = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT
    )
    if done.returncode != 0:
        return f"benchmarks/engine.py failed:\n\n```\n{done.stderr[-2000:]}\n```"
    return done.stdout.strip()


# ---------------------------------------------------------------- summary


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _fmt_spread(values: list[float], digits: int = 1) -> str:
    if not values:
        return ""
    med = _median(values)
    if len(values) == 1:
        return f"{med:.{digits}f}"
    return f"{med:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def summarise(
    corpora: list[dict], seed_runs: list[dict], engine: str, info: dict, args: argparse.Namespace
) -> str:
    lines = [BEGIN, ""]
    lines += [
        "### Machine",
        "",
        f"- {info['nproc']} cores: {info['cpu']}; {info['ram_gib']} GiB RAM; {info['os']}",
        f"- Python {info['python']}, Snakemake {info['snakemake']}",
        f"- measured {time.strftime('%Y-%m-%d')}; load average before each run is in "
        "the JSON (other processes shared the machine)",
        "",
    ]
    by_n: dict = {}
    for corpus in corpora:
        by_n.setdefault(corpus["n"], []).append(corpus)
    lines += [
        "### Whole workflow (`make brief`'s command), seconds",
        "",
        "Median of the repeats (min-max in brackets). Peak memory: the Snakemake "
        "process tree's summed RSS, largest over the four runs.",
        "",
        "| corpus | studies / effects / analyses | repeats | cold build | no-op | "
        "add one study | (% of cold) | edit one effect | peak memory (MiB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for corpus_runs in ([seed_runs] if seed_runs else []) + list(by_n.values()):
        first = corpus_runs[0]
        label = "seed (extracted/, references/)" if first["n"] == "seed" else f"N = {first['n']:,}"
        size = first["size"]
        times = {s: [c["runs"][s]["seconds"] for c in corpus_runs if s in c["runs"]] for s in SCENARIOS}
        peaks = [max(r["peak_rss_mb"] for r in c["runs"].values()) for c in corpus_runs]
        share = [a / c * 100 for a, c in zip(times["add"], times["cold"])]
        lines.append(
            f"| {label} | {size['studies']:,} / {size['effects']:,} / {size['analyses']:,} | "
            f"{len(corpus_runs)} | {_fmt_spread(times['cold'])} | {_fmt_spread(times['noop'])} | "
            f"{_fmt_spread(times['add'])} | {_fmt_spread(share, 0)} | {_fmt_spread(times['edit'])} | "
            f"{_median(peaks):.0f} |"
        )
    lines.append("")
    # Per-job times.
    for scenario in ("cold", "add", "edit"):
        lines += [
            f"### Time of each job: {SCENARIO_NAMES[scenario]} (median s, from the `benchmark:` files)",
            "",
        ]
        columns = [
            c for c in ([seed_runs] if seed_runs else []) + list(by_n.values()) if scenario in c[0]["runs"]
        ]
        names: list[str] = []
        for corpus_runs in columns:
            for job in corpus_runs[0]["runs"][scenario]["jobs"]:
                if job["job"] not in names:
                    names.append(job["job"])
        header = ["job"] + ["seed" if c[0]["n"] == "seed" else f"N = {c[0]['n']:,}" for c in columns]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for name in names:
            cells = [f"`{name}`"]
            for corpus_runs in columns:
                values = [
                    j["seconds"]
                    for c in corpus_runs
                    for j in c["runs"][scenario]["jobs"]
                    if j["job"] == name and j["seconds"] is not None
                ]
                ran = any(j["job"] == name for c in corpus_runs for j in c["runs"][scenario]["jobs"])
                cells.append(f"{_median(values):.1f}" if values else ("ran" if ran else "-"))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    # Which jobs re-ran.
    lines += [
        "### Jobs that ran in each rebuild (first repeat; `-` = none)",
        "",
        "| corpus | no-op | add one study | edit one effect |",
        "|---|---|---|---|",
    ]
    for corpus_runs in by_n.values():
        runs = corpus_runs[0]["runs"]
        cells = [", ".join(j["job"] for j in runs[s]["jobs"]) or "-" for s in ("noop", "add", "edit")]
        lines.append(f"| N = {corpus_runs[0]['n']:,} | " + " | ".join(cells) + " |")
    lines.append("")
    lines += [
        "### Size of the outputs",
        "",
        "| corpus | figures (SVG) | brief.html (MB) | brief.pdf (MB) |",
        "|---|---|---|---|",
    ]
    for corpus_runs in ([seed_runs] if seed_runs else []) + list(by_n.values()):
        size = corpus_runs[0]["size"]
        label = "seed" if corpus_runs[0]["n"] == "seed" else f"N = {corpus_runs[0]['n']:,}"
        lines.append(
            f"| {label} | {size['figures']} | {size['brief_html_mb']:.1f} | {size['brief_pdf_mb']:.1f} |"
        )
    lines.append("")
    lines += [
        "### Commands",
        "",
        "```",
        "# this harness (writes the tables above and the raw JSON)",
        "$ " + shlex.join([".venv/bin/python", "benchmarks/run.py", *sys.argv[1:]]),
        f"# each run, for a corpus generated by `benchmarks/generate.py N DIR --seed {args.seed}`:",
    ]
    commands = {c["command"] for c in corpora[:1]} | {c["command"] for c in seed_runs[:1]}
    lines += [f"$ {c}" for c in sorted(commands)] + ["```", ""]
    if engine:
        lines += ["### The engine alone (`.venv/bin/python benchmarks/engine.py`)", "", engine, ""]
    lines.append(END)
    return "\n".join(lines)


def write_markdown(path: Path, block: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text + ("\n" if text else "") + block + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 1000, 10000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--large-repeats",
        type=int,
        default=1,
        help="repeats for N >= 10,000 (a cold build there takes minutes)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/evidence-bench"))
    parser.add_argument("--no-seed", action="store_true", help="skip the seed corpus")
    parser.add_argument("--no-engine", action="store_true", help="skip benchmarks/engine.py")
    parser.add_argument("--markdown", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--json", type=Path, default=None, help="raw results (default: WORK/results.json)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    info = machine()
    seed_runs = [] if args.no_seed else [bench_seed(r, args.work) for r in range(args.repeats)]
    corpora = [
        bench_corpus(n, r, args.seed, args.work)
        for n in args.sizes
        for r in range(args.repeats if n < 10_000 else args.large_repeats)
    ]
    engine = "" if args.no_engine else engine_timings()
    raw = {"machine": info, "seed": seed_runs, "corpora": corpora, "engine": engine}
    json_path = args.json or args.work / "results.json"
    json_path.write_text(json.dumps(raw, indent=1), encoding="utf-8")
    block = summarise(corpora, seed_runs, engine, info, args)
    write_markdown(args.markdown, block)
    print(block)
    print(f"raw results: {json_path}")


if __name__ == "__main__":
    main()
