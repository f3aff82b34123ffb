"""Draw every figure of the brief, and only those whose data changed.

:func:`draw_all` draws a forest plot for every analysis (a single-study plot
when k = 1), a funnel plot when k >= 3 and the units come from at least 3 studies
(publication bias compares studies, not the samples of one), and the evidence gap map, through
:mod:`analysis.figures.plots`. Each figure's inputs (the rows it draws, the labels
and the code of :mod:`analysis.figures`) are hashed; the hashes and alt texts are
kept in the index (``figures/index.csv``) and in a sidecar (``figures/.drawn.json``,
which survives Snakemake's removal of the index before the rule runs). A figure
whose hash and files are unchanged since the last run is not drawn again and keeps
its alt text, so a run that draws nothing never imports matplotlib or starts a
process. Figures of analyses that no longer exist are removed. The index is
the brief's list of figures. The figures to draw are drawn largest first in this
process, while fresh processes rasterise the PNGs of those already drawn (``workers``,
the rule's threads, share the cores between the two); each is made from its own inputs
alone, so the files and the index are the same as drawn one by one.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from analysis.codebook import citations
from analysis.inputs import gaps
from analysis.io import csv_text, write_text_atomic

# Columns of figures/index.csv; svg and png are relative to the index's folder.
INDEX_COLUMNS = ["analysis_id", "kind", "svg", "png", "alt", "hash"]
# GRADE/Cochrane: a funnel plot needs at least 3 samples to show anything, and they must
# come from at least 3 studies (BIAS_MIN_STUDIES); Egger's test in pooled.csv uses the
# same thresholds (CONTRACT.md).
FUNNEL_MIN_K = 3
# Bump to redraw everything after a change here that the hash cannot see.
DRAWING_VERSION = "4"
GAP_MAP_ID = "evidence-gap-map"
# The columns the figures read of the wide tables (the gap map's counts,
# analysis.inputs.gaps); None: all. At 100,000 studies effects.csv is ~300 MiB in pandas.
TABLE_COLUMNS: dict[str, list[str] | None] = {
    "effects": ["study", "theme", "outcome", "kind"],
    "studies": ["study", "kind", "status", "themes", "outcomes"],
}
# Hash and alt text of every figure drawn, by file stem; not a rule output, so it
# outlives reruns.
SIDECAR = ".drawn.json"


def _plots_fingerprint() -> str:
    """Hash of the drawing code (every module of analysis/figures but this one, and the
    codebook whose words and scales the figures print): a change redraws every figure."""
    here = Path(__file__).resolve()
    files = sorted(p for p in here.parent.glob("*.py") if p != here)
    files += sorted((here.parents[1] / "codebook").glob("*.py"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _hash(*parts: Any) -> str:
    """sha256 of the JSON of the parts (rows as records with sorted keys)."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, pd.DataFrame):
            return [clean(r) for r in value.to_dict("records")]
        if isinstance(value, Mapping):
            return {str(k): clean(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        if hasattr(value, "item"):  # numpy scalars
            return clean(value.item())
        return value

    text = json.dumps(clean(list(parts)), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def study_labels(references: pd.DataFrame) -> dict[str, str]:
    """Study key -> 'Author (year)' (see :func:`analysis.codebook.citations.author_year`)."""
    return citations.study_labels(references)


def readable_name(row: Mapping[str, Any]) -> str:
    """'bonding capital and health (high versus low social capital)' for alt text."""
    from analysis.codebook.vocabulary import OUTCOME_NAME, THEME_NOUN, construct_words

    theme = str(row.get("theme") or "")
    outcome = OUTCOME_NAME.get(str(row.get("outcome") or ""), str(row.get("outcome") or ""))
    construct = row.get("construct")
    name = f"{THEME_NOUN.get(theme, theme + ' capital')} and {outcome.lower()}"
    if isinstance(construct, str) and construct:
        name += f" ({construct_words(construct)})"
    return name


def gap_counts(effects: pd.DataFrame | None, studies: pd.DataFrame) -> pd.DataFrame:
    """The gap map's counts (theme, outcome, coded, narrative); context records left out."""
    rows = gaps.gap_counts(effects, studies)
    return pd.DataFrame(rows, columns=["theme", "outcome", "coded", "narrative"])


def _previous(outdir: Path) -> dict[str, dict[str, str]]:
    """Stem -> {"hash", "alt"} of the figures drawn by the last run (empty when unknown)."""
    try:
        drawn = json.loads((outdir / SIDECAR).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(drawn, dict):
        return {}
    return {
        str(stem): entry
        for stem, entry in drawn.items()
        if isinstance(entry, dict)
        and isinstance(entry.get("hash"), str)
        and isinstance(entry.get("alt"), str)
    }


def _unchanged(previous: Mapping[str, Mapping[str, str]], stem: str, digest: str, outdir: Path) -> bool:
    return previous.get(stem, {}).get("hash") == digest and all(
        (outdir / f"{stem}{suffix}").is_file() for suffix in (".svg", ".png")
    )


def _units_by_analysis(units: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, str]]:
    """analysis_id -> (its units in input order, index reset; a digest of them).

    One pass over units.csv: the digest is the columns, their types and pandas' fixed-key
    64-bit hash of each row (vectorised; the rows as JSON took seconds at 10,000 studies).
    Units that draw the same may hash differently (an int column read as float), never
    the reverse."""
    keys = units["analysis_id"].astype(str)
    head = json.dumps([[str(c), str(t)] for c, t in zip(units.columns, units.dtypes)]).encode("utf-8")
    try:
        rows = pd.util.hash_pandas_object(units, index=False).to_numpy()
    except TypeError:  # a column pandas cannot hash: each analysis' rows as JSON
        rows = None
    out: dict[str, tuple[pd.DataFrame, str]] = {}
    for aid, positions in keys.groupby(keys, sort=False).indices.items():
        part = units.iloc[positions].reset_index(drop=True)
        body = rows[positions].tobytes() if rows is not None else _hash(part).encode("utf-8")
        out[str(aid)] = (part, hashlib.sha256(head + b"\0" + body).hexdigest())
    return out


def _draw(job: tuple) -> str:
    """Draw and save one figure: ``(kind, args, options, path without suffix, alt)``; returns its stem."""
    from analysis.figures import plots

    kind, args, options, base, alt = job
    make = {"forest": plots.forest_plot, "funnel": plots.funnel_plot, "gapmap": plots.draw_gap_map}[kind]
    plots.save_figure(make(*args, **options), base, alt_text=alt, png=False)
    return Path(base).name


def _draw_jobs(jobs: list[tuple], workers: int) -> None:
    """Draw the figures' SVGs in this process, and their PNGs from the SVGs in Typst
    compiles of ``BATCH`` figures each (:mod:`analysis.figures.raster`). With ``workers``
    > 1 a batch is rasterised in a fresh process as soon as its SVGs are written (at most
    ``workers - 1`` at a time) while the next figures are drawn: the two halves of the work
    share the cores and only this one process holds matplotlib and the tables. Each figure
    is drawn from its own inputs alone by the same code, so the files are the same bytes
    for any ``workers``. Nothing to draw: nothing is imported and no process started."""
    if not jobs:
        return
    from analysis.figures.raster import BATCH, Children, batches, rasterise
    from analysis.figures.style import PNG_DPI

    def png(job: tuple) -> tuple[Path, Path, str]:
        base, alt = job[3], job[4]
        return Path(f"{base}.svg"), Path(f"{base}.png"), alt

    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            _draw(job)
        rasterise([png(job) for job in jobs], PNG_DPI, workers=workers if len(jobs) > 1 else 0)
        return
    with Children(PNG_DPI, workers - 1) as children:
        for start in range(0, len(jobs), BATCH):
            chunk = jobs[start : start + BATCH]
            for job in chunk:
                _draw(job)
            for folder, batch in batches(png(job) for job in chunk):
                children.start(folder, batch)


def draw_all(
    pooled: pd.DataFrame,
    units: pd.DataFrame,
    studies: pd.DataFrame,
    references: pd.DataFrame,
    outdir: str | Path,
    effects: pd.DataFrame | None = None,
    workers: int = 1,
) -> pd.DataFrame:
    """Draw (or keep) every figure; write and return the index.

    Parameters
    ----------
    pooled : DataFrame, one row per analysis (pooled.csv)
    units : DataFrame, one row per independent sample with ``analysis_id`` (units.csv)
    studies : DataFrame, one row per extraction file (studies.csv)
    references : DataFrame, one row per bibliography entry (references.csv)
    outdir : folder of the figures; ``index.csv`` is written there
    effects : DataFrame (effects.csv), optional; the gap map's coded cells. Without it
        they come from the units of the pooled analyses.
    workers : number of processes that draw (the rule's threads); the files and the
        index are the same for any number.

    Returns
    -------
    DataFrame with columns ``INDEX_COLUMNS``, sorted by analysis_id and kind.
    """
    planned = plan(pooled, units, studies, references, effects)
    return draw_planned(planned, outdir, workers)


def draw_tables(read: Callable[[str], pd.DataFrame], outdir: str | Path, workers: int = 1) -> pd.DataFrame:
    """:func:`draw_all` of the tables ``read(name)`` returns ("pooled", "units", "studies",
    "references", "effects"; of the last two only ``TABLE_COLUMNS`` are needed): they are
    let go once the figures are planned, so that the drawing holds only each figure's own rows."""
    planned = plan(read("pooled"), read("units"), read("studies"), read("references"), read("effects"))
    return draw_planned(planned, outdir, workers)


def plan(
    pooled: pd.DataFrame,
    units: pd.DataFrame,
    studies: pd.DataFrame,
    references: pd.DataFrame,
    effects: pd.DataFrame | None = None,
) -> list[_Planned]:
    """Every figure of the index, with its hash and drawing arguments (no matplotlib)."""
    code = _plots_fingerprint()
    labels = study_labels(references)
    sources = citations.study_sources(references)
    by_analysis = _units_by_analysis(units)
    planned: list[_Planned] = []
    for row in pooled.to_dict("records"):
        planned += _analysis_figures(row, by_analysis, labels, sources, code)
    planned.append(_gap_map_figure(pooled, units, studies, effects, code))
    return planned


def draw_planned(planned: list[_Planned], outdir: str | Path, workers: int = 1) -> pd.DataFrame:
    """Draw the planned figures whose hash or files changed; write and return the index."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    previous = _previous(outdir)
    alts: dict[str, str] = {}
    jobs: list[tuple[int, tuple]] = []
    for p in planned:
        if _unchanged(previous, p.stem, p.digest, outdir):
            alts[p.stem] = previous[p.stem]["alt"]
            continue
        alts[p.stem] = _alt_text(p)
        jobs.append((p.rows, (p.kind, p.args, p.options, str(outdir / p.stem), alts[p.stem])))
    # Largest first, so that the last batch (rasterised after the drawing ends) is small.
    jobs.sort(key=lambda weighted: -weighted[0])
    _draw_jobs([job for _, job in jobs], workers)
    return _write_index(outdir, planned, alts)


class _Planned(NamedTuple):
    """One figure of the index: what it shows, its file stem, hash, drawing arguments,
    the arguments of its alt text and its number of rows (the cost of drawing it)."""

    analysis_id: str
    kind: str
    stem: str
    digest: str
    args: tuple
    options: dict
    alt_args: tuple
    rows: int


def _alt_text(p: _Planned) -> str:
    """The figure's alt text (pure text: no matplotlib)."""
    from analysis.figures.alt import alt_text_forest, alt_text_funnel

    if p.kind == "forest":
        return alt_text_forest(*p.alt_args, **p.options)
    if p.kind == "funnel":
        return alt_text_funnel(*p.alt_args)
    return gap_map_alt(*p.alt_args)


def _analysis_figures(
    row: dict,
    by_analysis: Mapping[str, tuple[pd.DataFrame, str]],
    labels: Mapping[str, str],
    sources: Mapping[str, str],
    code: str,
) -> list[_Planned]:
    """The forest plot of one analysis, and its funnel plot where one is drawn."""
    from analysis.figures.words import BIAS_MIN_STUDIES, unit_words

    aid = str(row["analysis_id"])
    its_units, units_digest = by_analysis.get(aid, (None, ""))
    if its_units is None or its_units.empty:
        return []
    its_labels = {s: labels.get(s, s) for s in its_units["study"].astype(str)}
    words = unit_words(its_units)
    options = {"source": sources.get(words.study, "")} if words.of_one_study else {}
    # The alt text names the analysis in words, not by its identifier.
    named = dict(row, analysis_id=readable_name(row))
    k = len(its_units)
    digest = _hash(
        DRAWING_VERSION, code, "forest", row, units_digest, its_labels, options, named["analysis_id"]
    )
    out = [
        _Planned(
            aid, "forest", f"forest-{aid}", digest, (row, its_units, its_labels), options,
            (named, its_units, its_labels), k,
        )
    ]  # fmt: skip
    if k >= FUNNEL_MIN_K and words.n_studies >= BIAS_MIN_STUDIES:
        digest = _hash(DRAWING_VERSION, code, "funnel", row, units_digest, named["analysis_id"])
        out.append(
            _Planned(aid, "funnel", f"funnel-{aid}", digest, (row, its_units), {}, (named, its_units), k)
        )
    return out


def _gap_map_figure(
    pooled: pd.DataFrame, units: pd.DataFrame, studies: pd.DataFrame, effects: pd.DataFrame | None, code: str
) -> _Planned:
    if effects is None:
        coded = units.merge(pooled[["analysis_id", "theme", "outcome"]], on="analysis_id")
        effects = coded.assign(kind="study")[["study", "theme", "outcome", "kind"]]
    counts = gap_counts(effects, studies)
    digest = _hash(DRAWING_VERSION, code, "gapmap", counts)
    return _Planned(GAP_MAP_ID, "gapmap", "gap-map", digest, (counts,), {}, (counts,), len(counts))


def _write_index(outdir: Path, planned: list[_Planned], alts: Mapping[str, str]) -> pd.DataFrame:
    """Write the index and the sidecar; remove figures no longer in the index."""
    entries = [
        {
            "analysis_id": p.analysis_id,
            "kind": p.kind,
            "svg": f"{p.stem}.svg",
            "png": f"{p.stem}.png",
            "alt": alts[p.stem],
            "hash": p.digest,
        }
        for p in planned
    ]
    index = (
        pd.DataFrame(entries, columns=INDEX_COLUMNS)
        .sort_values(["analysis_id", "kind"], kind="mergesort")
        .reset_index(drop=True)
    )
    keep = set(index["svg"]) | set(index["png"])
    for path in sorted(outdir.iterdir()):
        if path.is_file() and path.suffix in (".svg", ".png") and path.name not in keep:
            path.unlink()  # a figure of an analysis that no longer exists
    drawn = {
        Path(svg).stem: {"hash": digest, "alt": alt}
        for svg, digest, alt in zip(index["svg"], index["hash"], index["alt"])
    }
    write_text_atomic(
        outdir / SIDECAR, json.dumps(drawn, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    )
    write_text_atomic(outdir / "index.csv", csv_text(index.to_dict("records"), INDEX_COLUMNS))
    return index


def gap_map_alt(counts: pd.DataFrame) -> str:
    """Alt text of the gap map: what it shows and where the evidence is."""
    from analysis.codebook.vocabulary import OUTCOME_NAME, OUTCOMES, THEME_NOUN, THEMES

    filled = counts[(counts["coded"] + counts["narrative"]) > 0]
    n_cells = len(THEMES) * len(OUTCOMES)
    in_grid = filled[filled["theme"].isin(THEMES) & filled["outcome"].isin(OUTCOMES)]
    text = (
        f"Evidence gap map: a grid of {len(THEMES)} kinds of social capital by "
        f"{len(OUTCOMES)} outcomes, each cell giving the number of studies with coded "
        f"effects and the number with narrative findings only. {len(in_grid)} of "
        f"{n_cells} cells hold any study."
    )
    if not in_grid.empty:
        top = in_grid.assign(total=in_grid["coded"] + in_grid["narrative"]).sort_values(
            ["total", "theme", "outcome"], ascending=[False, True, True], kind="mergesort"
        )
        best = top.iloc[0]
        text += (
            f" The fullest is {THEME_NOUN.get(best['theme'], best['theme'])} "
            f"and {OUTCOME_NAME.get(best['outcome'], best['outcome']).lower()} "
            f"({int(best['coded'])} coded, {int(best['narrative'])} narrative)."
        )
    return text
