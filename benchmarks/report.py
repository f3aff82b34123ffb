"""The markdown of ``benchmarks/run.py``: issue 14's table and the details behind it.

:func:`measured_block` turns run.py's raw results into the section between the
markers of BENCHMARKS.md; :func:`write_markdown` puts it there.
"""

from __future__ import annotations

import shlex
import statistics
from pathlib import Path

BEGIN = "<!-- BEGIN MEASURED (written by benchmarks/run.py) -->"
END = "<!-- END MEASURED -->"
# The section of each corpus shape (benchmarks/generate.py SHAPES): its markers and title.
SECTIONS = {
    "mixed": (BEGIN, END, "Issue 14's table"),
    "single": (
        "<!-- BEGIN MEASURED single (written by benchmarks/run.py --shape single) -->",
        "<!-- END MEASURED single -->",
        "Issue 14's table, on the issue's corpus (one correlation per study, one analysis)",
    ),
}
RECORD = "/.cache/uptodate.json"  # analysis/uptodate.py
NOOP_TARGET_S = 1.5


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def seconds(runs: list[dict]) -> list[float]:
    return [r["seconds"] for r in runs]


def spread(values: list[float], digits: int = 1) -> str:
    """'12.3 (11.9-12.8)': the median and the range, or one value."""
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def peak(corpus: dict) -> float:
    return max(r["peak_rss_mb"] for runs in corpus["runs"].values() for r in runs)


def add_share(corpus: dict) -> tuple[float, str]:
    """Add one study (brief.html) as % of the cold build (brief.html): medians, and the text."""
    cold, add = median(seconds(corpus["runs"]["cold_html"])), median(seconds(corpus["runs"]["add_html"]))
    share = add / cold * 100
    return share, f"{share:.0f}% ({add:.1f} s of {cold:.1f} s)"


def reads_text(corpus: dict) -> tuple[int | None, str]:
    reads = corpus.get("noop_reads") or {}
    if "error" in reads:
        return None, reads["error"]
    # make brief's stamp check reads its own record of the stamps, and no other file.
    record = {k: [p for p in v if p.endswith(RECORD)] for k, v in reads.items()}
    counts = {k: len(v) - len(record[k]) for k, v in reads.items()}
    total = sum(counts.values())
    if total == 0:
        return 0, "no file read but the stamp record" if any(record.values()) else "no file read"
    return total, ", ".join(f"{v} under {k}" for k, v in counts.items() if v)


def _status(ok: bool | None) -> str:
    return "not measured" if ok is None else ("met" if ok else "**not met**")


def target_rows(corpora: list[dict]) -> list[str]:
    """Issue 14's table, row by row, with what was measured."""
    by_n = {c["n"]: c for c in corpora}
    rows = ["| figure | measured | target | status |", "|---|---|---|---|"]
    for n, limit in ((1000, 20), (10000, 10)):
        c = by_n.get(n)
        share, text = add_share(c) if c and "add_html" in c["runs"] else (None, "not run")
        rows.append(
            f"| {n:,} studies: add one study, as % of the cold build (brief.html) | {text} | <= {limit}% "
            f"| {_status(None if share is None else share <= limit)} |"
        )
    c = by_n.get(10000)
    cold = median(seconds(c["runs"]["cold"])) if c else None
    rows.append(
        f"| 10,000 studies: cold build, whole brief | {spread(seconds(c['runs']['cold'])) if c else '-'} s "
        f"| <= 60 s | {_status(None if cold is None else cold <= 60)} |"
    )
    rows.append(
        f"| peak memory (summed RSS of the process tree) at 10,000 | {peak(c):.0f} MiB "
        f"| <= 600 MiB | {_status(peak(c) <= 600)} |"
        if c
        else "| peak memory at 10,000 | - | <= 600 MiB | not measured |"
    )
    noop_cells, noop_ok = [], []
    for corpus in corpora:
        value = median(seconds(corpus["runs"]["noop"]))
        count, text = reads_text(corpus)
        alone = corpus["runs"].get("noop_snakemake")
        versus = f" (Snakemake alone: {median(seconds(alone)):.1f} s)" if alone else ""
        noop_cells.append(f"{corpus['n']:,}: {value:.2f} s, {text}{versus}")
        noop_ok.append(value <= NOOP_TARGET_S and count == 0)
    rows.append(
        f"| no-op rebuild at every size | {'; '.join(noop_cells)} | <= {NOOP_TARGET_S} s, nothing read "
        f"but file stamps | {_status(all(noop_ok) if noop_ok else None)} |"
    )
    huge = [c for c in corpora if c["n"] >= 100000]
    for c in huge:
        wall, mem = c["runs"]["cold"][0]["seconds"], peak(c)
        rows.append(
            f"| {c['n']:,} studies: whole brief | {wall:.0f} s, {mem:.0f} MiB | <= 10 min and <= 2 GiB "
            f"| {_status(wall <= 600 and mem <= 2048)} |"
        )
    if not huge:
        rows.append(
            "| 100,000 studies: whole brief | not run (`--huge 100000`) | <= 10 min and <= 2 GiB | - |"
        )
    return rows


def detail_rows(corpora: list[dict]) -> list[str]:
    rows = [
        "| corpus | studies / effects / analyses | cold, whole brief | no-op | cold, brief.html "
        "| add one study, brief.html | edit one effect, brief.html | peak memory (MiB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in corpora:
        s, runs = c["size"], c["runs"]
        cells = [
            spread(seconds(runs.get(k, []))) for k in ("cold", "noop", "cold_html", "add_html", "edit_html")
        ]
        rows.append(
            f"| N = {c['n']:,} | {s['studies']:,} / {s['effects']:,} / {s['analyses']:,} | "
            + " | ".join(cells)
            + f" | {peak(c):.0f} |"
        )
    return rows


def job_rows(corpora: list[dict], scenario: str) -> list[str]:
    """Median seconds and max RSS of each job in one scenario, per size."""
    columns = [c for c in corpora if scenario in c["runs"]]
    names: list[str] = []
    for c in columns:
        for run in c["runs"][scenario]:
            names += [j["job"] for j in run["jobs"] if j["job"] not in names]
    header = ["job"] + [f"N = {c['n']:,}: s / MiB" for c in columns]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name in names:
        cells = [f"`{name}`"]
        for c in columns:
            jobs = [j for run in c["runs"][scenario] for j in run["jobs"] if j["job"] == name]
            secs = [j["seconds"] for j in jobs if j["seconds"] is not None]
            mems = [j["max_rss_mb"] for j in jobs if j["max_rss_mb"] is not None]
            cell = f"{median(secs):.1f}" if secs else ("ran" if jobs else "-")
            cells.append(cell + (f" / {max(mems):.0f}" if mems else ""))
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def ran_rows(corpora: list[dict]) -> list[str]:
    rows = ["| corpus | no-op | add one study (first) | edit one effect |", "|---|---|---|---|"]
    for c in corpora:
        cells = []
        for key in ("noop", "add_html", "edit_html"):
            runs = c["runs"].get(key)
            cells.append(", ".join(j["job"] for j in runs[0]["jobs"]) or "none" if runs else "-")
        rows.append(f"| N = {c['n']:,} | " + " | ".join(cells) + " |")
    return rows


def measured_block(raw: dict, shape: str = "mixed") -> str:
    info, corpora = raw["machine"], raw["corpora"]
    begin, end, title = SECTIONS[shape]
    lines = [begin, "", f"### {title}", ""] + target_rows(corpora)
    lines += [
        "",
        f"Measured {info['date']} at commit {info['commit']} on {info['nproc']} cores ({info['cpu']}, "
        f"{info['ram_gib']} GiB RAM), Python {info['python']}, Snakemake {info['snakemake']}; other "
        "processes shared the machine (the load average before each run is in the JSON). Runs under a "
        "minute: median of the repeats (min-max in brackets); longer cold builds ran once.",
        "",
        "### Every run, seconds",
        "",
    ]
    lines += detail_rows(corpora)
    for scenario, title in (("cold", "cold build, whole brief"), ("add_html", "add one study, brief.html")):
        lines += ["", f"### Each job: {title} (median s / max RSS MiB, from the `benchmark:` files)", ""]
        lines += job_rows(corpora, scenario)
    lines += ["", "### Jobs that ran", ""] + ran_rows(corpora)
    lines += [
        "",
        "### Size of the outputs",
        "",
        "| corpus | figures (SVG) | brief.html (MB) | brief.pdf (MB) |",
        "|---|---|---|---|",
    ]
    for c in corpora:
        s = c["size"]
        lines.append(
            f"| N = {c['n']:,} | {s['figures']} | {s['brief_html_mb']:.1f} | {s['brief_pdf_mb']:.1f} |"
        )
    lines += [
        "",
        "### Commands",
        "",
        "```",
        "# this harness (writes the tables above, and the raw JSON of each size)",
    ]
    argvs = [raw.get("argv", [])] + [c["argv"] for c in corpora if "argv" in c]
    for argv in dict.fromkeys(tuple(a) for a in argvs):
        lines.append("$ " + shlex.join([".venv/bin/python", "benchmarks/run.py", *argv]))
    lines += [
        "# the runs it times, for a corpus made by `benchmarks/generate.py N DIR --seed 1"
        + ("`:" if shape == "mixed" else f" --shape {shape}`:"),
    ]
    for c in corpora[:1]:
        lines.append(f"$ {c['command']}")
        if "html_command" in c:
            lines.append(f"$ {c['html_command']}")
    lines += ["# the no-op's file count: the same command under `strace -f -qq -e trace=openat`", "```", ""]
    lines.append(end)
    return "\n".join(lines)


def write_markdown(path: Path, block: str, shape: str = "mixed") -> None:
    """Replace the measured section of ``shape`` in ``path`` (or append it)."""
    begin, end, _ = SECTIONS[shape]
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text + ("\n" if text else "") + block + "\n"
    path.write_text(text, encoding="utf-8")
