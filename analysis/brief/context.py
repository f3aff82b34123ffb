"""The evidence brief: from the results tables to the Quarto source ``brief.qmd``.

``report/brief.qmd`` is a Jinja2 template of a Quarto document without code
cells. :func:`build_context` turns the results tables into plain values
(every number already formatted the way the brief shows it), one module per
section of the brief (:mod:`.headline`, :mod:`.themes`, :mod:`.gaps`,
:mod:`.robustness`, :mod:`.evidence`, :mod:`.methods`), and
:func:`analysis.brief.template.render_source` fills the template. Nothing
numeric is typed in the template; the words that interpret numbers (readings,
verdicts, certainty) come from ``results/certainty.csv`` (rule rate_certainty,
:mod:`analysis.rating`), which the brief reads and never recomputes.

Safety: the template is rendered with autoescape off (the output is
Markdown, not HTML), so every text that comes from an extraction file or the
bibliography goes through :func:`escape_md` (the ``md`` filter), which
backslash-escapes every ASCII punctuation character: ``<script>`` or
``**bold**`` in a quote reaches the reader literally.

Heavy libraries (pandas, jinja2, matplotlib) are imported inside functions:
the workflow imports :func:`analysis.brief.software.software_versions` while it is parsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis.brief import common
from analysis.brief.atlas import atlas_section
from analysis.brief.common import (  # noqa: F401 - re-exported for older callers
    ATLAS_STUDY,
    analysis_label,
    author_year,
    capped,
    left_out_note,
    pdf_cap,
    relative,
    rows,
    study_labels,
    study_labels_of,
    text,
)
from analysis.brief.dependence import robustness_tables
from analysis.brief.evidence import (
    coded_effects,
    records_section,
    reference_years,
    study_entry,
    study_weights,
    untraced_claims,
)
from analysis.brief.gaps import gap_counts, gap_section  # noqa: F401 - gap_counts re-exported
from analysis.brief.headline import certainty_summary, figure_entries, headline_row
from analysis.brief.methods import methods_section
from analysis.brief.pools import effects_by_unit, leave_one_out_index, number_note, pool_table
from analysis.brief.results import Analysis, analyses
from analysis.brief.robustness import sensitivity_rows
from analysis.brief.summary import SUMMARY_RULES, key_messages, summary_of_findings
from analysis.brief.template import code_span, environment, render_source  # noqa: F401
from analysis.brief.themes import theme_sections, theme_summary  # noqa: F401
from analysis.codebook.formats import commit_date, escape_md, fmt_int  # noqa: F401
from analysis.codebook.measures import natural  # noqa: F401
from analysis.codebook.vocabulary import THEMES  # noqa: F401
from analysis.inputs.records import RecordCounts, count_records
from analysis.rating import certainty as grade
from analysis.rating.verdicts import (  # noqa: F401
    VERDICT_RULES,
    Claims,
    default_claims,
    expected_direction,
    reading,
    verdict,
)

# Words of the seed report's title, to find its entry in the bibliography.
SEED_TITLE = "bridging the divide"
# Used only when the bibliography has no entry for the seed report: its
# metadata as printed on its own cover and colophon (CSL YAML for citeproc).
SEED_ID = "couttsxia2025"
SEED_CSL = {
    "id": SEED_ID,
    "type": "report",
    "author": [{"family": "Coutts", "given": "Adam"}, {"family": "Xia", "given": "Shuting"}],
    "title": "Bridging the divide: the hidden power of social capital to drive social mobility",
    "publisher": "Local Trust",
    "publisher-place": "London",
    "issued": {"date-parts": [[2025, 10]]},
}


def seed_reference(references) -> tuple[str, dict | None]:
    """(key, CSL entry or None): the seed report's key, from the bibliography when it is there."""
    for r in rows(references):
        if SEED_TITLE in text(r.get("title")).lower():
            return text(r["key"]), None
    return SEED_ID, SEED_CSL


def _most_samples(r: Mapping[str, Any]) -> tuple:
    return (-int(r["k"]),)


def _uk_then_recent(s: Mapping[str, Any]) -> tuple:
    return (not s["uk"], -s["year"])


def _lists(headline, studies_list, context_list, quoted, notes) -> dict:
    """The capped tables (pooled, single, studies, context, coded numbers) and their notes."""
    pooled_rows = [r for r in headline if r["independent"]]
    single_rows = [r for r in headline if not r["pooled"]]
    pooled_shown, left = capped(pooled_rows, rank=_most_samples)
    notes["headline"] = left_out_note(
        left, len(pooled_shown), ("pooled analysis", "pooled analyses"),
        "the {n} with the most independent samples", "pooled.csv",
    )  # fmt: skip
    single_shown, left = capped(single_rows, rank=lambda r: (r["atlas"], -r["n_known"]))
    notes["single"] = left_out_note(
        left, len(single_shown), ("single-study analysis", "single-study analyses"),
        "the {n} with the most participants", "pooled.csv",
    )  # fmt: skip
    # Studies: the ones that weigh most in some analysis first (narrative ones weigh 0),
    # published ones before our own Atlas reanalysis.
    order = sorted(studies_list, key=lambda s: (s["atlas"], -s["weight"]))
    study_rank = {s["key"]: i for i, s in enumerate(order)}
    studies_shown, left = capped(studies_list, rank=lambda s: study_rank[s["key"]])
    notes["studies"] = left_out_note(
        left, len(studies_shown), ("study", "studies"),
        "the {n} that weigh most in the pooled analyses (the largest weight in any of them)", "studies.csv",
    )  # fmt: skip
    studies_caption = f"{len(studies_shown):,} of {len(studies_list):,}" if left else str(len(studies_list))
    context_shown, left = capped(context_list, rank=_uk_then_recent)
    notes["context"] = left_out_note(
        left, len(context_shown), ("report or policy document", "reports and policy documents"),
        "{n}: those about the UK first, then the most recent", "studies.csv",
    )  # fmt: skip
    context_caption = f"{len(context_shown):,} of {len(context_list):,}" if left else str(len(context_list))
    quoted_shown, left = capped(
        quoted, rank=lambda e: (study_rank.get(e["study"], len(study_rank)), e["sensitivity"])
    )
    notes["effects"] = left_out_note(
        left, len(quoted_shown), ("coded number", "coded numbers"),
        "the {n} from the studies that weigh most in the pooled analyses", "effects.csv",
        ", each with its locator and quote",
    )  # fmt: skip
    # The PDF's shorter tables (report/pdf.lua): the first of the HTML's rows by the same ranking.
    rows_ = common.PDF_ROWS
    pdf = {
        "headline": pdf_cap(pooled_shown, rows_, _most_samples, "pooled analyses",
                            f"the {rows_} with the most independent samples", "pooled.csv"),
        "single": pdf_cap(single_shown, rows_, lambda r: (r["atlas"], -r["n_known"]), "single-study analyses",
                          f"the {rows_} with the most participants", "pooled.csv"),
        "studies": pdf_cap(studies_shown, rows_, lambda s: study_rank[s["key"]], "studies",
                           f"the {rows_} that weigh most in the pooled analyses", "studies.csv"),
        "effects": pdf_cap(quoted_shown, rows_, lambda e: (study_rank.get(e["study"], len(study_rank)),
                           e["sensitivity"]), "coded numbers",
                           f"the {rows_} from the studies that weigh most", "effects.csv"),
    }  # fmt: skip
    return {
        "pdf": pdf,
        "pooled_rows": pooled_rows,
        "single_rows": single_rows,
        "headline": pooled_shown,
        "single": single_shown,
        "studies": studies_shown,
        "studies_caption": studies_caption,
        "context_records": context_shown,
        "context_caption": context_caption,
        "coded_effects": quoted_shown,
    }


def _cite(build, citation, headline) -> tuple[dict, dict]:
    """(meta fields of the build, the How to cite section)."""
    version = text(build.get("version"))
    commit = text(build.get("commit"))
    date = commit_date(int(build.get("epoch") or 0))
    authors = ", ".join(
        text(a.get("name") or " ".join(filter(None, [a.get("given-names"), a.get("family-names")])))
        for a in citation.get("authors", []) or []
    )
    title = text(citation.get("title")) or "Social capital and social mobility: an evidence brief"
    year = date[:4] if date else ""
    cite_text = (
        f"{authors} ({year or 'n.d.'}). {title}. Version {version}"
        f"{', commit ' + commit[:12] if commit and commit != 'unknown' else ''}."
    )
    example = next((r for r in headline if r["pooled"]), headline[0] if headline else None)
    cite_example = (
        f"{authors} ({year or 'n.d.'}). {title}. Version {version}, estimate {example['analysis_id']}."
        if example
        else ""
    )
    label = text(build.get("label")) or f"Version {version}"
    if not build.get("released", True):
        cite_text = f"{authors} ({year or 'n.d.'}). {title}. {label}."
        cite_example = (
            f"{authors} ({year or 'n.d.'}). {title}. {label}, estimate {example['analysis_id']}."
            if example
            else ""
        )
    meta = {"title": title, "date": date, "version": version, "commit": commit, "label": label}
    cite = {
        "text": cite_text,
        "version": version,
        "example": cite_example,
        "message": text(citation.get("message")),
    }
    return meta, cite


def _notes_sensitivity(all_analyses: list[Analysis], shown_pooled: set[str]) -> str:
    left = sum(1 for a in all_analyses if a.pooled and a.id not in shown_pooled)
    if not left:
        return ""
    return (
        f"{left:,} more pooled {'analysis is' if left == 1 else 'analyses are'} not shown: "
        f"the table below keeps the {len(shown_pooled):,} of the table of pooled analyses, "
        "those with the most independent samples. The results of every variation "
        "for every analysis are in the results files `sensitivity/leave_one_out.csv`, "
        "`sensitivity/estimators.csv`, `sensitivity/rho.csv` and "
        "`sensitivity/trimfill.csv`."
    )


def build_context(
    *,
    pooled,
    units,
    effects,
    studies,
    references,
    figures,
    sensitivity,
    claims,
    certainty,
    build: Mapping[str, Any],
    settings: Mapping[str, Any],
    software: Mapping[str, str],
    citation: Mapping[str, Any],
    qmd_dir: str | Path,
    figures_dir: str | Path,
    bib: str | Path,
    css: str | Path,
    themes: Claims | None = None,
    records: RecordCounts | None = None,
    atlas_county=None,
    messages: list[Mapping[str, Any]] | None = None,
    prisma: Mapping[str, str] | None = None,
    csl: str | Path | None = None,
) -> dict:
    """Everything the template shows, as formatted strings and lists (see the template).

    Over 80 lines: one flat list of the template's top-level names, each one line; the
    work is in the section modules it calls."""
    qmd_dir, figures_dir = Path(qmd_dir), Path(figures_dir)
    themes = themes or default_claims()
    if messages is None:  # the protocol's key messages (report/themes.yaml)
        from analysis.brief.summary import load_messages
        from analysis.rating.verdicts import CLAIMS_FILE

        messages = load_messages(CLAIMS_FILE)
    # Each large table once into rows (a frame's to_dict per section cost 80 s at 100,000
    # studies); every section reads the rows.
    effects, units, studies, references = (rows(t) for t in (effects, units, studies, references))
    if sensitivity and sensitivity.get("leave_one_out") is not None:
        sensitivity = {**sensitivity, "leave_one_out": rows(sensitivity["leave_one_out"])}
    labels = study_labels_of(references)
    keys = set(labels)
    all_analyses = analyses(pooled, units, studies, certainty, figures)
    headline = [headline_row(a, labels) for a in all_analyses]
    by_unit = effects_by_unit(effects)
    without = leave_one_out_index(sensitivity.get("leave_one_out") if sensitivity else None)
    for a, row in zip(all_analyses, headline):
        row["figures"] = figure_entries(a, figures_dir, qmd_dir)
        row["combined"] = number_note(a, a.units[0], by_unit) if len(a.units) == 1 else ""
        table = pool_table(a, by_unit, without, labels) if a.independent else {}
        row["pool_studies"], row["pool_note"] = table.get("rows", []), table.get("note", "")
        row["pool_pdf"] = table.get("pdf", "")
    study_rows = rows(studies)
    coded_studies = [s for s in study_rows if (text(s.get("kind")) or "study") != "context"]
    context_rows = [s for s in study_rows if (text(s.get("kind")) or "study") == "context"]
    weights, years = study_weights(units), reference_years(references)
    studies_list = [study_entry(s, labels, weights, years, ATLAS_STUDY) for s in coded_studies]
    context_list = [study_entry(s, labels, weights, years, ATLAS_STUDY) for s in context_rows]
    notes: dict[str, str] = {}
    theme_of = {a.id: text(a.row.get("theme")) for a in all_analyses}
    seed_key, seed_csl = seed_reference(references)
    quoted, computed = coded_effects(effects, labels)
    lists = _lists(headline, studies_list, context_list, quoted, notes)
    levels = {lvl: sum(1 for r in headline if r["certainty"] == lvl) for lvl in grade.LEVELS}
    # Every count of records comes from analysis.inputs.records (as in CHANGES.md and
    # `review status`); without records.json, from studies.csv through the same function.
    records = records or count_records(
        {"study": s["study"], "kind": s.get("kind"), "status": s.get("status")} for s in study_rows
    )
    level = fmt_int(100 * (1 - float(settings.get("alpha", 0.05))))
    atlas = atlas_section(all_analyses, atlas_county, effects, float(level))
    by_id = {r["analysis_id"]: r for r in headline}
    messages_ = key_messages(
        list(messages or []),
        all_analyses,
        by_id,
        {r["analysis_id"]: r for r in atlas["rows"]},
        studies_list,
        level,
    )
    uk = sum(1 for s in coded_studies if "GB" in text(s.get("country")).split(";"))
    meta, cite = _cite(build, citation, headline)
    # The result we are surest of: best certainty, then pooled, published, most samples.
    ranked = sorted(
        (r for r in headline if not r["degenerate"]),
        key=lambda r: (grade.LEVELS.index(r["certainty"]), not r["pooled"], r["atlas"], -int(r["k"])),
    )
    shown_pooled = {r["analysis_id"] for r in lists["headline"]} | {r["analysis_id"] for r in atlas["rows"]}
    notes["sensitivity"] = _notes_sensitivity(all_analyses, shown_pooled)
    robust = robustness_tables(all_analyses, sensitivity or {})
    notes.update(robust["notes"])
    estimates, left = capped(headline, rank=lambda r: (not r["pooled"], -int(r["k"])))
    notes["estimates"] = left_out_note(
        left, len(estimates), ("identifier", "identifiers"),
        "the {n} of the analyses with the most independent samples", "pooled.csv", " (column analysis_id)",
    )  # fmt: skip
    return {
        "best": ranked[0] if ranked else None,
        "coded_effects": lists["coded_effects"],
        "computed_effects": computed,
        "bib_keys": sorted(keys | {seed_key}),
        # Confidence level of every interval, in percent (from alpha; 95 by default).
        "level": level,
        "atlas_key": ATLAS_STUDY,
        "atlas": atlas,
        "messages": messages_,
        "summary_rules": list(SUMMARY_RULES),
        "sof": summary_of_findings(messages_, all_analyses, by_id, studies_list),
        "records": records_section(records, prisma, qmd_dir),
        "meta": {
            "title": meta["title"],
            "subtitle": "What the studies behind Local Trust's Bridging the divide (2025) show",
            "date": meta["date"] or "undated build",
            "version": meta["version"],
            "commit": meta["commit"],
            "commit_short": meta["commit"][:12],
            "label": meta["label"],
            "released": bool(build.get("released", True)),
            "csl": relative(csl, qmd_dir) if csl else "",
            "fingerprint": text(build.get("fingerprint")),
            "bibliography": relative(bib, qmd_dir),
            "css": relative(css, qmd_dir),
            "seed_csl": seed_csl,
        },
        "seed": {"key": seed_key},
        "summary": {
            # Thousands separated: "9,778 studies".
            "studies": fmt_int(records.studies),
            "coded": fmt_int(records.coded),
            "narrative": fmt_int(records.narrative),
            "context": fmt_int(records.context),
            "uk": fmt_int(uk),
            "analyses": fmt_int(len(headline)),
            "pooled": fmt_int(len(lists["pooled_rows"])),
            "single": fmt_int(len(lists["single_rows"])),
            "levels": [{"level": lvl, "n": str(levels[lvl])} for lvl in grade.LEVELS],
            "moderate_or_better": str(levels["high"] + levels["moderate"]),
            "certainty": certainty_summary([a.rating for a in all_analyses]),
            "claims": str(len(claims or [])),
            "effects": fmt_int(len(effects)),
        },
        "headline": lists["headline"],
        "pdf": lists["pdf"],
        "single": lists["single"],
        "notes": notes,
        "grade_rules": list(grade.RULES),
        "verdict_rules": list(VERDICT_RULES),
        "themes": theme_sections(headline, theme_of, studies_list, themes),
        "gap": gap_section(effects, studies, figures, coded_studies, figures_dir, qmd_dir),
        "sensitivity": [
            s for s in sensitivity_rows(all_analyses, sensitivity) if s["analysis_id"] in shown_pooled
        ],
        "dependence": robust["dependence"],
        "moderators": robust["moderators"],
        "claims": untraced_claims(claims, keys),
        "methods": methods_section(effects, settings, software, len(labels)),
        "studies": lists["studies"],
        "studies_caption": lists["studies_caption"],
        "context_records": lists["context_records"],
        "context_caption": lists["context_caption"],
        "cite": cite,
        "estimates": [
            {
                "analysis_id": r["analysis_id"],
                "label": f"{r['theme']}: {r['outcome']}",
                "effect": f"{r['measure']} {r['effect']}" if r["effect"] else "",
            }
            for r in estimates
        ],
    }


def write_brief_source(
    *,
    template,
    claims_yaml,
    themes_yaml,
    pooled,
    units,
    effects,
    studies,
    references,
    certainty,
    figures_index,
    sensitivity: Mapping[str, str],
    output,
    bib,
    css,
    build,
    settings,
    software,
    agreement: Mapping[str, Any] | None = None,
    records_json=None,
    atlas_county=None,
    prisma_svg=None,
    csl=None,
    renderer: Mapping[str, str] | None = None,
) -> int:
    """Rule write_brief_source: read the results, write results_dir/brief/brief.qmd.

    ``agreement`` is analysis.inputs.agreement.agreement_summary() of the double coding (None: none).
    ``atlas_county`` is results/atlas/county_correlations.csv, or None when the public data
    are absent (the Atlas section then says the nationwide figures are unavailable).
    ``renderer`` is analysis.brief.render.resolve_renderer() (its "label" goes in the methods).
    """
    import yaml

    from analysis.brief.summary import load_messages
    from analysis.brief.tables import COLUMNS, read_rows
    from analysis.figures.prisma import prisma_alt
    from analysis.inputs.records import read_counts
    from analysis.io import read_table, write_text_atomic
    from analysis.provenance import citation
    from analysis.rating.verdicts import load_claims

    claims = yaml.safe_load(Path(claims_yaml).read_text(encoding="utf-8")) or []
    figures = read_table(figures_index)
    records = read_counts(records_json) if records_json else None
    # The large tables go on as rows of the columns the brief reads (analysis.brief.tables).
    context = build_context(
        pooled=read_table(pooled),
        units=read_rows(units, "units"),
        effects=read_rows(effects, "effects"),
        studies=read_rows(studies, "studies"),
        references=read_rows(references, "references"),
        certainty=read_table(certainty),
        figures=figures,
        sensitivity={
            name: read_rows(path, name) if name in COLUMNS else read_table(path)
            for name, path in sensitivity.items()
        },
        claims=claims,
        themes=load_claims(themes_yaml),
        messages=load_messages(themes_yaml),
        records=records,
        atlas_county=read_table(atlas_county) if atlas_county else None,
        prisma={"svg": prisma_svg, "alt": prisma_alt(records)} if prisma_svg and records else None,
        csl=csl,
        build=build,
        settings=settings,
        software=software,
        citation=citation(),
        qmd_dir=Path(output).parent,
        figures_dir=Path(figures_index).parent,
        bib=bib,
        css=css,
    )
    context["agreement"] = dict(agreement or {"second_coder": False})
    context["renderer"] = dict(renderer or {})
    text_ = render_source(template, context)
    write_text_atomic(output, text_)
    return len(context["headline"]) + len(context["single"])
