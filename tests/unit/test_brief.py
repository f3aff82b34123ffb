"""The brief's pure parts: escaping, number formats, readings, verdicts, the context, the
template, and the figure cache."""

import math
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from analysis.brief import common as brief_common
from analysis.brief import context as brief
from analysis.brief.context import reading, verdict
from analysis.codebook.formats import escape_md, fmt, fmt_i2, fmt_interval, fmt_tau

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "report" / "brief.qmd"
LOG = math.log


# --- escaping ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "**x**",
        "a | b",
        "[link](http://example.org)",
        "@rothon2012 and [@key]",
        "{{< include secret >}}",
        "# heading",
        "1. not a list",
        "`code` and $x^2$ and \\emph{y}",
    ],
)
def test_escaped_text_reads_literally_in_pandoc(text):
    """Pandoc turns the escaped text back into exactly the original characters."""
    import pypandoc

    html = pypandoc.convert_text(
        f"| a |\n|---|\n| {escape_md(text)} |\n\nPara {escape_md(text)}", "html", format="markdown"
    )
    plain = pypandoc.convert_text(html, "plain", format="html")
    assert "<script" not in html
    assert "<strong>" not in html and "<a " not in html and "<code>" not in html
    assert "<h1" not in html and "<ol" not in html
    assert plain.count(text) == 2, plain


def test_escape_collapses_newlines_and_handles_missing_values():
    assert escape_md("a\n\nb\tc") == "a b c"
    assert escape_md(None) == ""
    assert escape_md(float("nan")) == ""
    assert escape_md("plain words") == "plain words"
    assert escape_md("a|b") == "a\\|b"


# --- numbers ----------------------------------------------------------------------


def test_number_formats():
    assert fmt(0.6549) == "0.65"
    assert fmt(-0.051) == "\u22120.05"
    assert fmt(-0.001) == "0.00"  # no "-0.00"
    assert fmt(float("nan")) == ""
    assert fmt_i2(93.8) == "94%"
    assert fmt_tau(0.2121) == "0.46"
    assert fmt_tau(0.00001) == "< 0.01"
    assert fmt_tau(0.0) == "0.00"
    assert fmt_interval("OR", LOG(1.2), LOG(1.5)) == "1.20\u00a0to\u00a01.50"
    assert fmt_interval("ZCOR", math.atanh(-0.2), math.atanh(0.3)) == "\u22120.20\u00a0to\u00a00.30"
    assert fmt_interval("OR", float("nan"), 1.0) == ""


def test_natural_scale():
    assert brief.natural("OR", LOG(2.0)) == pytest.approx(2.0)
    assert brief.natural("RR", 0.0) == 1.0
    assert brief.natural("ZCOR", math.atanh(0.5)) == pytest.approx(0.5)
    assert brief.natural("ZPCOR", math.atanh(-0.3)) == pytest.approx(-0.3)
    assert brief.natural("SMD", 0.4) == 0.4
    assert brief.natural("GEN", 0.55) == 0.55


# --- readings ---------------------------------------------------------------------


def test_reading_of_a_clear_consistent_association():
    text = reading("bridging", "mobility", 0.5, (0.3, 0.7), (0.2, 0.8), 20.0, 6)
    assert text == (
        "More bridging capital went with more upward mobility (the CI excludes "
        "no effect); results were consistent across samples."
    )


def test_reading_of_a_negative_association():
    text = reading("bonding", "education", -0.3, (-0.5, -0.1), (-0.6, -0.05), 10.0, 4)
    assert text.startswith("More bonding capital went with worse educational results")


def test_reading_when_the_ci_includes_no_effect_names_no_direction():
    text = reading("linking", "income", 0.1, (-0.1, 0.3), (-0.5, 0.7), 60.0, 5)
    assert text.startswith("No clear association (the CI includes no effect)")
    assert "higher income" not in text and "lower income" not in text
    assert "could be absent or reversed (I² 60%)" in text


def test_reading_of_heterogeneous_results_in_one_direction():
    text = reading("bridging", "mobility", 0.6, (0.5, 0.7), (0.2, 0.9), 84.0, 40)
    assert text.endswith("results varied in size between samples (I² 84%), though not in direction.")


def test_reading_of_one_study():
    text = reading("workplace", "employment", 0.2, (0.1, 0.3), (math.nan, math.nan), math.nan, 1)
    assert "stronger workplace networks went with better employment outcomes" in text.lower()
    assert text.endswith("one study, so consistency is unknown.")


def test_reading_names_the_exposure_of_a_construct():
    text = reading(
        "education",
        "education",
        -0.2,
        (-0.3, -0.1),
        (math.nan, math.nan),
        math.nan,
        1,
        "non-directed-activities",
    )
    assert text.startswith("More time in unstructured activities went with worse educational")
    text = reading("bonding", "health", 0.3, (0.2, 0.4), (0.1, 0.5), 10.0, 6, "high-vs-low")
    assert text.startswith("More bonding capital went with better health")


def test_reading_of_crime_reads_the_right_way_round():
    assert "went with less crime" in reading("bonding", "crime", 0.2, (0.1, 0.3), (0.05, 0.4), 0.0, 3)


# --- verdicts ---------------------------------------------------------------------


def test_verdict_rules():
    ci, pi = (0.1, 0.5), (0.05, 0.6)
    assert verdict(1, 0.3, ci, pi, "moderate", 5).label == "supports"
    assert verdict(1, 0.3, ci, pi, "high", 1).label == "supports"
    assert verdict(1, 0.3, ci, pi, "low", 5).label == "qualifies"
    assert verdict(1, 0.3, ci, (-0.1, 0.7), "moderate", 5).label == "qualifies"
    assert verdict(1, -0.3, (-0.5, -0.1), pi, "low", 5).label == "contradicts"
    assert verdict(-1, -0.3, (-0.5, -0.1), (-0.6, -0.05), "high", 5).label == "supports"
    assert verdict(1, 0.3, (-0.1, 0.7), pi, "high", 5).label == "inconclusive"
    assert verdict(0, 0.3, ci, pi, "low", 5).label == "qualifies"
    assert verdict(0, 0.3, (-0.1, 0.7), pi, "low", 5).label == "inconclusive"


def test_verdict_never_claims_more_than_low_certainty_allows():
    text = verdict(1, 0.3, (0.1, 0.5), (0.05, 0.6), "very low", 5).text
    assert "very low" in text and "not proof" in text


def test_expected_direction_from_the_claims():
    assert brief.expected_direction("bridging", "mobility", "") == 1
    assert brief.expected_direction("bonding", "mobility", "") == 0
    assert brief.expected_direction("bonding", "health", "") == 1
    assert brief.expected_direction("education", "education", "non-directed-activities") == -1
    assert brief.expected_direction("education", "education", "family-social-capital") == 1
    assert set(brief.default_claims().themes) == set(brief.THEMES)  # report/themes.yaml


def test_theme_summary():
    assert brief.theme_summary(["qualifies", "qualifies", "inconclusive"], 3) == (
        "Against the report's claim: 2 analyses qualify it; 1 analysis is inconclusive."
    )
    assert brief.theme_summary([], 1) == ("No coded numbers; the evidence is narrative only (1 study).")


def test_certainty_summary_counts_the_reasons():
    from analysis.rating.certainty import Rating

    low = Rating("low", "very low", ("indirectness: no UK sample", "imprecision: the CI includes no effect"))
    fine = Rating("low", "low", ())
    text = brief.certainty_summary([low, fine])
    assert text == (
        "None of the 2 analyses reaches moderate or high certainty. Why: every "
        "analysis rests on observational studies; 1 has no UK sample; 1 is "
        "imprecise. The numbers describe associations, not the effect of building "
        "social capital."
    )
    assert brief.certainty_summary([Rating("high", "high", ())]).startswith(
        "1 of 1 analyses reach moderate or high certainty"
    )


# --- labels -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "author, year, expected",
    [
        ("Rothon, Catherine and Goodwin, Laura and Stansfeld, Stephen", "2012", "Rothon et al. (2012)"),
        ("Szreter, Simon and Woolcock, Michael", "2004", "Szreter and Woolcock (2004)"),
        ("Croll", "2004", "Croll (2004)"),
        ("van der Erve and Krutikova and Macmillan", "2023", "van der Erve et al. (2023)"),
        ("Opportunity Insights", "2022", "Opportunity Insights (2022)"),
        ("Walton and others", "2003", "Walton et al. (2003)"),
        ("Calvó-Armengol, Antoni and Jackson, Matthew O.", "2004", "Calvó-Armengol and Jackson (2004)"),
    ],
)
def test_author_year(author, year, expected):
    assert brief.author_year({"key": "k", "author": author, "year": year}) == expected


def test_analysis_label_uses_words_not_slugs():
    assert brief.analysis_label({"outcome": "health", "construct": "high-vs-low"}) == (
        "Health: high versus low social capital"
    )
    assert brief.analysis_label({"outcome": "mobility", "construct": "volunteering-rate"}) == (
        "Upward mobility: volunteering rate"
    )
    assert brief.analysis_label({"outcome": "income", "construct": ""}) == "Income"


# --- context and template ---------------------------------------------------------


def tables():
    """A small set of results tables with the columns the workflow writes."""
    pooled = pd.DataFrame(
        [
            dict(
                analysis_id="bonding-health-or",
                theme="bonding",
                outcome="health",
                measure="OR",
                construct="",
                k=3,
                n_studies=3,
                n_effects=3,
                estimator="REML",
                ci_method="knha",
                pooled=True,
                estimate=LOG(1.4),
                se=0.1,
                ci_low=LOG(1.1),
                ci_high=LOG(1.8),
                pi_low=LOG(0.9),
                pi_high=LOG(2.2),
                tau2=0.02,
                i2=40.0,
                egger_p=0.4,
            ),
            dict(
                analysis_id="education-education-zcor",
                theme="education",
                outcome="education",
                measure="ZCOR",
                construct="",
                k=1,
                n_studies=1,
                n_effects=1,
                estimator="REML",
                ci_method="knha",
                pooled=False,
                estimate=math.atanh(0.12),
                se=0.03,
                ci_low=math.atanh(0.06),
                ci_high=math.atanh(0.18),
                pi_low=math.nan,
                pi_high=math.nan,
                tau2=math.nan,
                i2=math.nan,
                egger_p=math.nan,
            ),
        ]
    )
    units = pd.DataFrame(
        [
            dict(
                analysis_id="bonding-health-or",
                study="a2020",
                sample="",
                n_effects=1,
                yi=LOG(1.5),
                vi=0.04,
                se=0.2,
                ci_low=LOG(1.0),
                ci_high=LOG(2.2),
                weight=40.0,
                n=900,
            ),
            dict(
                analysis_id="bonding-health-or",
                study="b2019",
                sample="",
                n_effects=1,
                yi=LOG(1.2),
                vi=0.05,
                se=0.22,
                ci_low=LOG(0.8),
                ci_high=LOG(1.8),
                weight=30.0,
                n=None,
            ),
            dict(
                analysis_id="bonding-health-or",
                study="c2018",
                sample="",
                n_effects=1,
                yi=LOG(1.6),
                vi=0.06,
                se=0.24,
                ci_low=LOG(1.0),
                ci_high=LOG(2.5),
                weight=30.0,
                n=300,
            ),
            dict(
                analysis_id="education-education-zcor",
                study="a2020",
                sample="",
                n_effects=1,
                yi=math.atanh(0.12),
                vi=0.001,
                se=0.03,
                ci_low=math.atanh(0.06),
                ci_high=math.atanh(0.18),
                weight=100.0,
                n=900,
            ),
        ]
    )
    studies = pd.DataFrame(
        [
            dict(
                study="a2020",
                kind="study",
                design="cohort",
                country="GB",
                status="coded",
                themes="bonding;education",
                outcomes="education;health",
                n_effects=2,
                findings="",
                not_poolable="",
            ),
            dict(
                study="b2019",
                kind="study",
                design="cross-sectional",
                country="US",
                status="coded",
                themes="bonding",
                outcomes="health",
                n_effects=1,
                findings="",
                not_poolable="",
            ),
            dict(
                study="c2018",
                kind="study",
                design="cohort",
                country="CA",
                status="coded",
                themes="bonding",
                outcomes="health",
                n_effects=1,
                findings="",
                not_poolable="",
            ),
            dict(
                study="d2021",
                kind="study",
                design="qualitative",
                country="GB",
                status="narrative",
                themes="workplace",
                outcomes="employment",
                n_effects=0,
                findings="Said <script>alert(1)</script> and **x** | y",
                not_poolable="interviews",
            ),
            dict(
                study="e2022",
                kind="context",
                design="other",
                country="GB",
                status="narrative",
                themes="",
                outcomes="",
                n_effects=0,
                findings="A report.",
                not_poolable="report",
            ),
        ]
    )
    effects = pd.DataFrame(
        [
            dict(
                study="a2020",
                effect_id="e1",
                theme="bonding",
                outcome="health",
                measure="OR",
                input_form="or_ci",
                formula="yi = log(OR)",
                printed="OR 0.7 [0.5, 0.9]",
                reverse=True,
                role="primary",
                exposure="Support **x**",
                outcome_label="Poor <b>health</b>",
                locator="Table 2",
                quote="<script>q</script>",
                computed_by="",
                kind="study",
            ),
            dict(
                study="a2020",
                effect_id="e2",
                theme="education",
                outcome="education",
                measure="ZCOR",
                input_form="r_n",
                formula="yi = atanh(r)",
                printed="r 0.12 (n 900)",
                reverse=False,
                role="primary",
                exposure="x",
                outcome_label="y",
                locator="T3",
                quote="r = 0.12",
                computed_by="",
                kind="study",
            ),
            dict(
                study="b2019",
                effect_id="e1",
                theme="bonding",
                outcome="health",
                measure="OR",
                input_form="or_ci",
                formula="yi = log(OR)",
                printed="OR 1.2",
                reverse=False,
                role="primary",
                exposure="x",
                outcome_label="y",
                locator="A",
                quote="q",
                computed_by="",
                kind="study",
            ),
            dict(
                study="c2018",
                effect_id="e1",
                theme="bonding",
                outcome="health",
                measure="OR",
                input_form="or_ci",
                formula="yi = log(OR)",
                printed="OR 1.6",
                reverse=False,
                role="primary",
                exposure="x",
                outcome_label="y",
                locator="A",
                quote="q",
                computed_by="",
                kind="study",
            ),
        ]
    )
    references = pd.DataFrame(
        [
            dict(key="a2020", author="Alpha, Ann and Other, Oscar", year="2020", title="A"),
            dict(key="b2019", author="Beta, Bo", year="2019", title="B"),
            dict(key="c2018", author="Gamma, G. and Delta, D. and Eps, E.", year="2018", title="C"),
            dict(key="d2021", author="Delta, Dan", year="2021", title="D"),
            dict(key="e2022", author="Fixture Commission", year="2022", title="E"),
        ]
    )
    fit = dict(
        k=3, estimate=LOG(1.4), se=0.1, ci_low=LOG(1.1), ci_high=LOG(1.8), p=0.01, tau2=0.02, i2=40.0, note=""
    )
    sensitivity = {
        "leave_one_out": pd.DataFrame(
            [
                dict(
                    analysis_id="bonding-health-or",
                    study=s,
                    sample="",
                    **dict(fit, estimate=LOG(e), ci_low=LOG(lo)),
                )
                for s, e, lo in (("a2020", 1.3, 0.9), ("b2019", 1.5, 1.1), ("c2018", 1.35, 1.05))
            ]
        ),
        "estimators": pd.DataFrame(
            [
                dict(analysis_id="bonding-health-or", estimator=e, estimator_used=e, **fit)
                for e in ("REML", "DL")
            ]
        ),
        "rho": pd.DataFrame([dict(analysis_id="bonding-health-or", rho=r, **fit) for r in (0.2, 0.6, 0.9)]),
        "trimfill": pd.DataFrame(
            [dict(analysis_id="bonding-health-or", side="left", k0=1, **dict(fit, estimate=LOG(1.3)))]
        ),
        "subgroups": pd.DataFrame(columns=["analysis_id"]),
    }
    return dict(
        pooled=pooled,
        units=units,
        studies=studies,
        effects=effects,
        references=references,
        sensitivity=sensitivity,
    )


def context(tmp_path, **changes):
    t = tables()
    figures = pd.DataFrame(
        [
            dict(
                analysis_id="bonding-health-or",
                kind="forest",
                svg="forest-bonding-health-or.svg",
                png="x.png",
                alt='Forest "plot" of 3 studies',
                hash="h",
            )
        ]
    )
    kwargs = dict(
        pooled=t["pooled"],
        units=t["units"],
        effects=t["effects"],
        studies=t["studies"],
        references=t["references"],
        figures=figures,
        sensitivity=t["sensitivity"],
        claims=[
            {
                "id": "c1",
                "claim": "A **bold** claim",
                "attributed_to": "b2019",
                "where": "Lesson one",
                "found_instead": "Nothing <i>here</i>",
            }
        ],
        build={
            "version": "1.2.3",
            "commit": "abcdef1234567890",
            "epoch": 1764300000,
            "fingerprint": "0123456789abcdef",
        },
        settings={"estimator": "REML", "ci_method": "knha", "rho": 0.6, "alpha": 0.05},
        software={"Python": "3.11.2", "pymare": "0.0.13"},
        citation={"title": "A brief", "version": "1.2.3", "authors": [{"name": "Team"}]},
        qmd_dir=tmp_path / "brief",
        figures_dir=tmp_path / "figures",
        bib=tmp_path / "references.bib",
        css=ROOT / "report" / "brief.css",
    )
    kwargs.update(changes)
    kwargs.setdefault("certainty", rated(kwargs["pooled"], kwargs["units"], kwargs["studies"]))
    return brief.build_context(**kwargs)


def rated(pooled, units, studies) -> pd.DataFrame:
    """certainty.csv of the tables (what rule rate_certainty writes)."""
    from analysis.rating.table import COLUMNS, rate_analyses

    return pd.DataFrame(rate_analyses(pooled, units, studies), columns=COLUMNS)


def test_context_headline_and_single_studies(tmp_path):
    ctx = context(tmp_path)
    (row,) = ctx["headline"]
    assert row["effect"] == "1.40" and row["measure"] == "OR"
    assert row["ci"] == "1.10\u00a0to\u00a01.80" and row["pi"] == "0.90\u00a0to\u00a02.20"
    assert row["i2"] == "40%" and row["tau"] == "0.14"
    assert row["participants"] == "≥ 1,200"  # one study did not report n
    assert row["certainty"] == "very low"  # observational; PI crosses 1; one UK sample is enough
    (single,) = ctx["single"]
    assert single["effect"] == "0.12" and single["measure"] == "r"
    assert single["pi"] == "" and single["i2"] == ""
    assert ctx["meta"]["date"] == "2025-11-28"
    assert ctx["meta"]["bibliography"] == "../references.bib"
    assert ctx["summary"]["studies"] == "4" and ctx["summary"]["context"] == "1"


def test_context_sensitivity_in_words(tmp_path):
    (s,) = context(tmp_path)["sensitivity"]
    assert s["loo"] == "1.30 to 1.50"
    assert "leaving out one sample changes whether the CI includes no effect" in s["words"]
    assert s["trimfill"] == "1 filled on the left: 1.30"
    assert s["rho"] == "0.2: 1.40; 0.6: 1.40; 0.9: 1.40"


def test_gap_counts_leave_out_context_records():
    t = tables()
    counts = {
        (r["theme"], r["outcome"]): (r["coded"], r["narrative"])
        for r in brief.gap_counts(t["effects"], t["studies"])
    }
    assert counts == {
        ("bonding", "health"): (3, 0),
        ("education", "education"): (1, 0),
        ("workplace", "employment"): (0, 1),
    }


def test_seed_report_falls_back_to_csl_when_not_in_the_bibliography():
    key, csl = brief.seed_reference(pd.DataFrame([dict(key="a", title="Other")]))
    assert key == brief.SEED_ID and csl["publisher"] == "Local Trust"
    key, csl = brief.seed_reference(pd.DataFrame([dict(key="lt25", title="Bridging the Divide")]))
    assert key == "lt25" and csl is None


def test_template_renders_with_escaped_text_and_no_leftovers(tmp_path):
    text = brief.render_source(TEMPLATE, context(tmp_path))
    assert "{{" not in text and "{%" not in text and "{##" not in text
    assert "<script>" not in text and "<i>" not in text and "<b>" not in text
    assert "\\<script\\>alert\\(1\\)\\<\\/script\\>" in text
    assert "\\*\\*x\\*\\* \\| y" in text  # escaped inside a table cell
    assert "A \\*\\*bold\\*\\* claim" in text
    assert "@b2019" in text and "[@couttsxia2025]" in text
    assert "fig-alt=\"Forest 'plot' of 3 studies\"" in text
    assert "](../figures/forest-bonding-health-or.svg)" in text
    assert "@fig-" not in text
    assert text.startswith('---\ntitle: "A brief"')


def test_template_is_strict_about_missing_values(tmp_path):
    import jinja2

    ctx = context(tmp_path)
    del ctx["gap"]
    with pytest.raises(jinja2.UndefinedError):
        brief.render_source(TEMPLATE, ctx)


def test_unknown_citation_keys_are_shown_as_text(tmp_path):
    ctx = context(
        tmp_path,
        claims=[{"id": "c", "claim": "x", "attributed_to": "nobody2000", "where": "w", "found_instead": "f"}],
    )
    text = brief.render_source(TEMPLATE, ctx)
    assert "@nobody2000" not in text and "| nobody2000 |" in text


def _pandoc_html(tmp_path, text, references) -> subprocess.CompletedProcess:
    """The filled template through pandoc (HTML, citations resolved from ``references``)."""
    import pypandoc

    (tmp_path / "brief").mkdir()
    qmd = tmp_path / "brief" / "brief.qmd"
    qmd.write_text(text, encoding="utf-8")
    bib = tmp_path / "references.bib"
    bib.write_text(
        "".join(
            f"@article{{{k}, author={{{a}}}, title={{T}}, year={{{y}}}}}\n"
            for k, a, y in references[["key", "author", "year"]].itertuples(index=False)
        ),
        encoding="utf-8",
    )
    return subprocess.run(
        [
            pypandoc.get_pandoc_path(),
            str(qmd),
            "--from",
            "markdown",
            "--to",
            "html5",
            "--standalone",
            "--citeproc",
            f"--bibliography={bib}",
        ],
        capture_output=True,
        text=True,
        cwd=qmd.parent,
    )


def test_pandoc_renders_the_source_without_warnings(tmp_path):
    """The filled template is valid Markdown for pandoc: no unresolved citation or reference."""

    ctx = context(tmp_path)
    text = brief.render_source(TEMPLATE, ctx)
    done = _pandoc_html(tmp_path, text, tables()["references"])
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr.upper(), done.stderr
    assert "<script" not in done.stdout


def test_software_versions_are_deterministic():
    from analysis.brief.software import software_versions

    assert software_versions() == software_versions()
    assert {"Python", "pymare", "numpy", "scipy", "Snakemake", "typst"} <= set(software_versions())


# --- figures ----------------------------------------------------------------------


def test_figures_are_drawn_once_and_removed_when_their_analysis_goes(tmp_path):
    from analysis.figures import draw as figures

    t = tables()
    out = tmp_path / "figures"
    index = figures.draw_all(
        t["pooled"], t["units"], t["studies"], t["references"], out, effects=t["effects"]
    )
    assert set(zip(index["analysis_id"], index["kind"])) == {
        ("bonding-health-or", "forest"),
        ("bonding-health-or", "funnel"),
        ("education-education-zcor", "forest"),
        ("evidence-gap-map", "gapmap"),
    }
    assert all(index["alt"].str.len() > 40)
    assert "bonding capital and health" in index["alt"].iloc[0]
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    (out / "index.csv").unlink()  # Snakemake removes a rule's outputs before it runs
    again = figures.draw_all(
        t["pooled"], t["units"], t["studies"], t["references"], out, effects=t["effects"]
    )
    pd.testing.assert_frame_equal(index, again)
    for name, stamp in stamps.items():
        if name not in ("index.csv", ".drawn.json"):
            assert (out / name).stat().st_mtime_ns == stamp, f"{name} was redrawn"
    # One analysis gone: its figures go too; a changed analysis is redrawn.
    pooled = t["pooled"].iloc[:1].copy()
    pooled.loc[0, "estimate"] = LOG(1.5)
    units = t["units"][t["units"]["analysis_id"] == "bonding-health-or"]
    figures.draw_all(pooled, units, t["studies"], t["references"], out, effects=t["effects"])
    assert not (out / "forest-education-education-zcor.svg").exists()
    assert (out / "forest-bonding-health-or.svg").stat().st_mtime_ns != stamps["forest-bonding-health-or.svg"]


# --- a brief that stays short -----------------------------------------------------------


def test_capped_keeps_the_first_by_rank_in_their_order():
    rows = [("a", 1), ("b", 5), ("c", 3), ("d", 5), ("e", 0)]
    shown, left = brief.capped(rows, 3, rank=lambda r: -r[1])
    assert shown == [("b", 5), ("c", 3), ("d", 5)] and left == 2
    assert brief.capped(rows, 5, rank=lambda r: -r[1]) == (rows, 0)
    assert brief.capped(rows, 2) == (rows[:2], 3)  # no rank: the first rows


def test_left_out_note_says_how_many_and_where():
    assert brief.left_out_note(0, 150, ("study", "studies"), "the {n} first", "studies.csv") == ""
    assert brief.left_out_note(
        1234, 150, ("coded number", "coded numbers"), "the {n} first", "effects.csv", ", with quotes"
    ) == (
        "1,234 more coded numbers are not shown: the table below keeps the 150 first. All "
        "1,384 are in the results file `effects.csv`, with quotes."
    )
    assert brief.left_out_note(1, 2, ("study", "studies"), "the {n}", "s.csv").startswith(
        "1 more study is not shown"
    )


def many_tables():
    """tables() plus four bonding analyses of 2-5 studies (s00 weighs most in each), six
    narrative bonding studies (n01 from the UK) and four context documents (c1 from the UK)."""
    t = tables()
    studies, refs, units, effects, pooled = [], [], [], [], []
    for i in range(5):
        studies.append(
            dict(
                study=f"s{i:02d}",
                kind="study",
                design="cohort",
                country="US",
                status="coded",
                themes="bonding",
                outcomes="health",
                n_effects=1,
                findings="",
                not_poolable="",
            )
        )
        effects.append(dict(t["effects"].iloc[2], study=f"s{i:02d}", quote=f"quote s{i:02d}"))
    for i in range(6):
        studies.append(
            dict(
                study=f"n{i:02d}",
                kind="study",
                design="qualitative",
                country="GB" if i == 1 else "US",
                status="narrative",
                themes="bonding",
                outcomes="health",
                n_effects=0,
                findings=f"Finding {i}",
                not_poolable="interviews",
            )
        )
    for i in range(4):
        studies.append(
            dict(
                study=f"c{i}",
                kind="context",
                design="other",
                country="GB" if i == 1 else "US",
                status="narrative",
                themes="",
                outcomes="",
                n_effects=0,
                findings=f"Report {i}",
                not_poolable="report",
            )
        )
    for s in studies:
        year = 2000 + int(s["study"][1:])
        refs.append(dict(key=s["study"], author=f"Author{s['study']}, A.", year=str(year), title="T"))
    base = t["pooled"].iloc[0].to_dict()
    for j, k in enumerate((2, 3, 4, 5)):
        aid = f"bonding-health-or-m{j}"
        pooled.append(dict(base, analysis_id=aid, construct=f"m{j}", k=k, n_studies=k, n_effects=k))
        total = sum(range(1, k + 1))
        for i in range(k):
            units.append(
                dict(t["units"].iloc[0], analysis_id=aid, study=f"s{i:02d}", weight=100.0 * (k - i) / total)
            )
    return dict(
        t,
        pooled=pd.concat([t["pooled"], pd.DataFrame(pooled)], ignore_index=True),
        units=pd.concat([t["units"], pd.DataFrame(units)], ignore_index=True),
        studies=pd.concat([t["studies"], pd.DataFrame(studies)], ignore_index=True),
        effects=pd.concat([t["effects"], pd.DataFrame(effects)], ignore_index=True),
        references=pd.concat([t["references"], pd.DataFrame(refs)], ignore_index=True),
    )


@pytest.fixture
def small_caps(monkeypatch):
    monkeypatch.setattr(brief_common, "TABLE_ROWS", 3)
    monkeypatch.setattr(brief_common, "THEME_TABLE_ROWS", 2)
    monkeypatch.setattr(brief_common, "FIGURE_ANALYSES", 2)
    monkeypatch.setattr(brief_common, "CITED_STUDIES", 2)


def test_long_tables_are_capped_and_say_where_the_rest_is(tmp_path, small_caps):
    t = many_tables()
    ctx = context(tmp_path, **{k: t[k] for k in ("pooled", "units", "studies", "effects", "references")})
    # The analyses with the most samples, in the table's order.
    assert [r["analysis_id"] for r in ctx["headline"]] == [
        "bonding-health-or-m3",
        "bonding-health-or-m2",
        "bonding-health-or",
    ]
    assert ctx["notes"]["headline"].startswith("2 more pooled analyses are not shown: ")
    assert "`pooled.csv`" in ctx["notes"]["headline"]
    assert [s["analysis_id"] for s in ctx["sensitivity"]] == [r["analysis_id"] for r in ctx["headline"]]
    assert ctx["notes"]["sensitivity"].startswith("2 more pooled analyses are not shown")
    assert [e["analysis_id"] for e in ctx["estimates"]] == [r["analysis_id"] for r in ctx["headline"]]
    assert "All 6 are in the results file `pooled.csv`" in ctx["notes"]["estimates"]
    # Studies: those with the largest weight in any analysis, in the file's order.
    assert [s["key"] for s in ctx["studies"]] == ["a2020", "s00", "s01"]
    assert ctx["studies_caption"] == "3 of 15"
    assert "12 more studies" in ctx["notes"]["studies"] and "`studies.csv`" in ctx["notes"]["studies"]
    # Coded numbers: those of the heaviest studies.
    assert [(e["study"], e["quote"]) for e in ctx["coded_effects"]] == [
        ("a2020", "<script>q</script>"),
        ("a2020", "r = 0.12"),
        ("s00", "quote s00"),
    ]
    assert "All 9 are in the results file `effects.csv`" in ctx["notes"]["effects"]
    # Context documents: UK first, then the most recent.
    assert [s["key"] for s in ctx["context_records"]] == ["e2022", "c1", "c3"]
    assert ctx["context_caption"] == "3 of 5" and ctx["notes"]["context"]
    # A theme: the analyses with most studies in full, the rest in a short table.
    bonding = ctx["themes"][0]
    assert [a["analysis_id"] for a in bonding["analyses"]] == ["bonding-health-or-m3", "bonding-health-or-m2"]
    assert [a["analysis_id"] for a in bonding["others"]] == ["bonding-health-or", "bonding-health-or-m1"]
    assert "Of the other 3, the table lists the 2" in bonding["others_note"]
    assert "`figures`" in bonding["others_note"]
    assert [s["key"] for s in bonding["narrative"]] == ["n01", "n05"]
    assert "4 more studies with findings only" in bonding["narrative_note"]
    assert bonding["summary"].count("analyses") >= 1  # the summary counts every analysis
    # Citations: the two heaviest studies by name, the rest counted.
    top = bonding["analyses"][0]
    assert top["cited_keys"] == ["s00", "s01"]
    assert top["uncited"].startswith(" and 3 more") and "`units.csv`" in top["uncited"]


def test_a_pool_table_keeps_the_samples_that_weigh_most_and_says_where_the_rest_are(
    tmp_path, small_caps, monkeypatch
):
    monkeypatch.setattr(brief_common, "POOL_ROWS", 4)
    monkeypatch.setattr(brief_common, "PDF_POOL_ROWS", 2)
    t = many_tables()
    # The heaviest samples last in the file's order: the table keeps them, in that order.
    units = t["units"].copy()
    mine = units["analysis_id"] == "bonding-health-or-m3"
    units.loc[mine, "weight"] = units.loc[mine, "weight"].to_numpy()[::-1]
    ctx = context(tmp_path, **{k: t[k] for k in ("pooled", "studies", "effects", "references")}, units=units)
    (top,) = [a for a in ctx["themes"][0]["analyses"] if a["analysis_id"] == "bonding-health-or-m3"]
    assert [p["study"] for p in top["pool_studies"]] == ["s01", "s02", "s03", "s04"]
    assert top["pool_note"] == (
        "1 more sample is not shown: the table below keeps the 4 that weigh most. All 5 are in the "
        "results file `units.csv` (each one's value and weight); `sensitivity/leave_one_out.csv` has "
        "the pool without each."
    )
    assert 'pdf-keep="2 3"' in top["pool_pdf"] and "2 of these 4 samples" in top["pool_pdf"]
    text = brief.render_source(TEMPLATE, ctx)
    assert top["pool_note"] in text
    # A pool that fits is shown whole, without a note.
    (small,) = [a for a in ctx["themes"][0]["analyses"] if a["analysis_id"] == "bonding-health-or-m2"]
    assert len(small["pool_studies"]) == 4 and small["pool_note"] == ""


def test_a_sample_weight_shows_which_weigh_most():
    from analysis.brief.pools import weight_text

    assert [weight_text(w) for w in (None, 0, 0.04, 0.449, 0.96, 12.5)] == [
        "",
        "0%",
        "<0.1%",
        "0.4%",
        "1%",
        "12%",
    ]


def test_a_capped_brief_renders_with_its_notes(tmp_path, small_caps):

    t = many_tables()
    ctx = context(tmp_path, **{k: t[k] for k in ("pooled", "units", "studies", "effects", "references")})
    text = brief.render_source(TEMPLATE, ctx)
    assert ctx["notes"]["single"] == ""  # one single-study analysis: nothing left out
    # Nothing left out: one single-study analysis; no dependent effects, no moderator tests.
    notes = [v for k, v in ctx["notes"].items() if k not in ("single", "dependence", "moderators")]
    for note in [*notes, ctx["themes"][0]["others_note"], ctx["themes"][0]["narrative_note"]]:
        assert note and note in text
    assert "### Other analyses of this theme" in text
    assert "| `bonding-health-or-m1` |" in text
    assert "[@s00; @s01] and 3 more" in text
    assert "Studies included (3 of 15)" in text
    done = _pandoc_html(tmp_path, text, t["references"])
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr.upper(), done.stderr
    assert "<code>pooled.csv</code>" in done.stdout
    assert "<code>bonding-health-or-m1</code>" in done.stdout


def test_below_the_caps_the_brief_is_unchanged(tmp_path, monkeypatch):
    """A corpus that fits the caps (the seed corpus does) gives the same brief as no caps."""
    text = brief.render_source(TEMPLATE, context(tmp_path))
    for name in ("TABLE_ROWS", "THEME_TABLE_ROWS", "FIGURE_ANALYSES", "CITED_STUDIES", "POOL_ROWS"):
        monkeypatch.setattr(brief_common, name, 10**6)
    assert brief.render_source(TEMPLATE, context(tmp_path)) == text
    assert "not shown" not in text and "Other analyses of this theme" not in text


def test_figures_drawn_in_parallel_are_the_same_files(tmp_path):
    from analysis.figures import draw as figures

    t = tables()
    serial = figures.draw_all(
        t["pooled"],
        t["units"],
        t["studies"],
        t["references"],
        tmp_path / "one",
        effects=t["effects"],
        workers=1,
    )
    parallel = figures.draw_all(
        t["pooled"],
        t["units"],
        t["studies"],
        t["references"],
        tmp_path / "two",
        effects=t["effects"],
        workers=2,
    )
    pd.testing.assert_frame_equal(serial, parallel)
    one = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert one == sorted(p.name for p in (tmp_path / "two").iterdir())
    for name in one:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


# --- issue 11: literature and reanalysis apart, key messages, counts, form -------------------


def _states(n: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An Atlas-like analysis: n state samples of one study (sca2022), as pooled.csv and units.csv rows."""
    pooled = pd.DataFrame(
        [
            dict(
                analysis_id="linking-mobility-zcor-civic",
                theme="linking", outcome="mobility", measure="ZCOR", construct="civic-organizations",
                k=n, n_studies=1, n_effects=n, estimator="REML", ci_method="knha", pooled=True,
                estimate=math.atanh(0.2), se=0.05, ci_low=math.atanh(0.1), ci_high=math.atanh(0.3),
                pi_low=math.atanh(-0.4), pi_high=math.atanh(0.7), tau2=0.05, i2=88.0, egger_p=math.nan,
            )
        ]
    )  # fmt: skip
    units = pd.DataFrame(
        [
            dict(analysis_id="linking-mobility-zcor-civic", study="sca2022", sample=f"S{i}", n_effects=1,
                 yi=math.atanh(0.2), vi=0.01, se=0.1, ci_low=0.0, ci_high=0.4, weight=100 / n, n=50)
            for i in range(n)
        ]
    )  # fmt: skip
    return pooled, units


def _with_states(tmp_path, county=None):
    t = tables()
    p, u = _states()
    pooled = pd.concat([t["pooled"], p], ignore_index=True)
    units = pd.concat([t["units"], u], ignore_index=True)
    studies = pd.concat(
        [t["studies"], pd.DataFrame([dict(study="sca2022", kind="study", design="ecological", country="US",
                                          status="coded", themes="linking", outcomes="mobility", n_effects=5)])],
        ignore_index=True,
    )  # fmt: skip
    effects = pd.concat(
        [t["effects"], pd.DataFrame([dict(study="sca2022", effect_id="civic-s0", theme="linking",
                                          outcome="mobility", measure="ZCOR", construct="civic-organizations",
                                          exposure="Civic organisations (county, Social Capital Atlas "
                                          "civic_organizations_county)", role="primary")])],
        ignore_index=True,
    )  # fmt: skip
    return context(
        tmp_path, pooled=pooled, units=units, studies=studies, effects=effects, atlas_county=county
    )


def test_states_of_one_study_are_not_in_the_pooled_analyses_table(tmp_path):
    ctx = _with_states(tmp_path)
    assert [r["analysis_id"] for r in ctx["headline"]] == ["bonding-health-or"]
    assert [r["analysis_id"] for r in ctx["atlas"]["rows"]] == ["linking-mobility-zcor-civic"]
    assert ctx["atlas"]["available"] is False
    text = brief.render_source(TEMPLATE, ctx)
    assert "nationwide county correlations are unavailable in this build" in text


def test_atlas_section_shows_the_nationwide_correlation_and_says_where_it_differs(tmp_path):
    county = pd.DataFrame(
        [dict(measure="civic_organizations_county", n_counties=3087, n_cz=740, r=-0.004, se=0.05)]
    )
    ctx = _with_states(tmp_path, county=county)
    (row,) = ctx["atlas"]["rows"]
    assert row["national"] == "0.00" and row["counties"] == "3,087" and row["zones"] == "740"
    assert row["within"] == "0.20"
    # National about zero with a CI over 0; within states positive and excluding 0: both said.
    assert "about zero" in row["differs"] and "within-state CI excludes it" in row["differs"]
    assert "holds" not in row["consistency"] or "Not consistently" in row["consistency"]
    assert ctx["atlas"]["differ"] == [row]


def test_a_single_study_value_says_what_it_combines():
    from analysis.brief.pools import number_note
    from analysis.brief.results import Analysis
    from analysis.rating.certainty import Rating
    from analysis.rating.verdicts import Verdict

    row = dict(analysis_id="x", theme="bonding", outcome="health", measure="OR", construct="high-vs-low")
    a = Analysis(row, [], ["s"], (), (), "", Rating("low", "low"), "", Verdict("qualifies", ""), [])
    assert number_note(a, {"n_effects": 4}, {}) == "combined from 4 effects of one sample"
    unit = {"study": "bond2007", "sample": "", "n_effects": 1, "ci_low": LOG(0.98), "ci_high": LOG(1.72)}
    effect = {"printed": "OR 1.3 [1.0, 1.76]", "measure": "OR", "reverse": False}
    key = ("bond2007", "", "bonding", "health", "OR", "high-vs-low")
    assert number_note(a, unit, {key: [effect]}) == (
        "printed as OR 1.3 [1.0, 1.76]; the CI shown is recomputed from it"
    )
    same = dict(unit, ci_low=LOG(1.0), ci_high=LOG(1.76))
    assert number_note(a, same, {key: [effect]}) == ""
    # A reversed effect is compared after its flip: printed 0.5 [0.4, 0.625] is 2.0 [1.6, 2.5].
    flipped = dict(unit, ci_low=LOG(1.6), ci_high=LOG(2.5))
    assert number_note(a, flipped, {key: [dict(effect, printed="OR 0.5 [0.4, 0.625]", reverse=True)]}) == ""


def test_key_messages_answer_the_question_in_grade_words_within_700_words(tmp_path):
    import re

    ctx = context(tmp_path)
    messages = ctx["messages"]
    assert [m["key"] for m in messages] == ["bridging", "bonding", "education", "workplace", "place"]
    assert messages[0]["question"].startswith("Does bridging social capital drive upward mobility")
    wording = ("go together", "probably", "may", "we are very uncertain", "very uncertain")
    assert all(any(w in m["sure"].lower() for w in wording) for m in messages)
    # The bonding pool (3 studies, low certainty) leads its message, in "may" words.
    bonding = messages[1]
    assert bonding["lead"] == "bonding-health-or" and bonding["level"] == ctx["headline"][0]["certainty"]
    text = brief.render_source(TEMPLATE, ctx)
    section = text[text.index("# Key messages") : text.index("# Summary of findings")]
    words = len(re.sub(r"\\(.)", r"\1", section).split())
    assert words <= 700, words
    assert "not a systematic search" in section
    first = text[text.index("abstract:") : text.index("\n", text.index("abstract:"))]
    assert "Does bridging social capital drive upward mobility" in first


def test_summary_of_findings_has_one_row_per_claim_with_footnoted_reasons(tmp_path):
    sof = context(tmp_path)["sof"]
    assert len(sof["rows"]) == 5
    marks = {m for r in sof["rows"] for m in r["marks"].split(",") if m}
    assert marks == {n["mark"] for n in sof["notes"]}
    assert all(r["certainty"] for r in sof["rows"])


def test_every_count_comes_from_the_records_function(tmp_path):
    from analysis.inputs.records import count_records
    from analysis.release import changes

    t = tables()
    ctx = context(tmp_path)
    counts = count_records(t["studies"].to_dict("records"))
    assert ctx["summary"]["studies"] == str(counts.studies) and ctx["summary"]["context"] == str(
        counts.context
    )
    assert ctx["records"]["studies"] == str(counts.studies)
    # CHANGES.md counts the same records the same way: studies and context records apart.
    rows = [
        dict(study=s["study"], kind=s["kind"], status=s["status"], effect_id="")
        for s in t["studies"].to_dict("records")
    ]
    text = changes.changes_markdown("1.0.0", changes.ReleaseTables(rows, []))
    assert f"{counts.studies} studies" in text and f"{counts.context} context record" in text


def test_a_missing_identified_by_is_counted_as_not_recorded():
    from analysis.inputs.records import NOT_RECORDED, count_records

    counts = count_records(
        [
            {"study": "a", "status": "coded", "identified_by": "report-references"},
            {"study": "b", "status": "narrative"},
            {"study": "c", "kind": "context", "identified_by": "packet-2"},
        ],
        bibliography=["a", "b", "c", "d", "seed"],
        pooled_studies=["a"],
        exclude=["seed"],
    )
    assert counts.identified["report-references"] == 1 and counts.identified[NOT_RECORDED] == 1
    assert (counts.studies, counts.coded, counts.narrative, counts.context) == (2, 1, 1, 1)
    assert counts.not_retrieved == 1 and counts.pooled == 1 and counts.identified_total == 4
    assert counts.sources()[-1] == (NOT_RECORDED, "source not recorded", 1)


def test_bold_paragraph_leads_keep_their_blank_line(tmp_path):
    """A Jinja block tag at a line end eats the newline after it; a bold lead ("**Pooling.**")
    that lost its blank line runs into the paragraph before it."""
    import re

    for second in (False, True):
        ctx = context(tmp_path)
        if second:
            ctx["agreement"] = {"second_coder": True, "studies_double_coded": 2, "effects_compared": 3,
                                "effects_differing": 0, "fields": {}, "disagreements": 0}  # fmt: skip
        lines = brief.render_source(TEMPLATE, ctx).splitlines()
        for i, line in enumerate(lines):
            if re.match(r"\A\*\*[A-Z][^*]{0,40}\.\*\* ", line):
                assert lines[i - 1].strip() == "", (
                    f"no blank line before {line[:40]!r}: {lines[i - 1][:60]!r}"
                )


def test_two_surname_only_authors_have_no_comma_before_and(tmp_path):
    import pypandoc

    bib = tmp_path / "refs.bib"
    bib.write_text("@article{eg2010, author = {Erikson and Goldthorpe}, title = {T}, journal = {J}, year = {2010}}\n"
                   "@article{abc2011, author = {Abel, Ann and Baker, Bob and Cole, Cy}, title = {U}, journal = {J}, year = {2011}}\n")  # fmt: skip
    out = pypandoc.convert_text(
        "[@eg2010; @abc2011]\n\n::: {#refs}\n:::\n",
        "plain",
        format="markdown",
        extra_args=["--citeproc", f"--bibliography={bib}", f"--csl={ROOT / 'report' / 'brief.csl'}"],
    )
    text = " ".join(out.split())
    assert "Erikson and Goldthorpe" in text and "Erikson, and" not in text
    assert "Baker, and Cy Cole" in text  # three or more: the serial comma stays


@pytest.mark.parametrize(
    "version, commit, releases, building, label, released",
    [
        ("0.1.0", "f62c1ecd957a" + "0" * 28, {"0.1.0": "f62c1ecd957a" + "0" * 28}, "", "Version 0.1.0", True),
        ("0.1.0", "abcdef123456789", {"0.1.0": "f62c"}, "", "Unreleased build after v0.1.0, commit abcdef123456", False),
        ("0.1.0", "abcdef123456789-dirty", {"0.1.0": "abcdef123456789"}, "",
         "Unreleased build after v0.1.0, commit abcdef123456, modified", False),
        ("0.2.0", "abcdef123456789", {"0.1.0": "f62c"}, "0.2.0", "Version 0.2.0", True),
        ("0.1.0", "abcdef123456789", {}, "", "Unreleased build, commit abcdef123456", False),
    ],
)  # fmt: skip
def test_a_build_says_whether_it_is_a_release(version, commit, releases, building, label, released):
    from analysis.provenance import release_label

    found = release_label(version, commit, releases, building)
    assert (found["label"], found["released"]) == (label, released)


def test_an_unreleased_build_says_so_in_its_header_and_citation(tmp_path):
    build = {"version": "1.2.3", "commit": "abcdef1234567890-dirty", "epoch": 1764300000, "fingerprint": "f",
             "label": "Unreleased build after v1.2.2, commit abcdef123456, modified", "released": False}  # fmt: skip
    text = brief.render_source(TEMPLATE, context(tmp_path, build=build))
    header = text[text.index("::: {.build-line}") :].splitlines()[1].replace("\\", "")
    assert header.startswith("Unreleased build after v1.2.2, commit abcdef123456, modified ·")
    cite = text[text.index("# How to cite") :]
    assert "Unreleased build after v1.2.2" in cite.replace("\\", "") and "Version 1.2.3" not in cite


# --- linear grouping of the sensitivity tables --------------------------------------


def test_leave_one_out_index_and_grouped_tables_match_a_per_analysis_filter():
    """One pass over a table gives, per analysis, the rows a filter per analysis gives."""
    from analysis.brief.pools import leave_one_out_index
    from analysis.brief.robustness import _grouped

    frame = pd.DataFrame(
        {
            "analysis_id": ["b", "a", "b", "a", "c"],
            "study": ["s1", "s1", "s2", "s2", "s1"],
            "sample": ["", "", "x", "", ""],
            "estimate": [0.1, 0.2, 0.3, 0.4, 0.5],
        }
    )
    index = leave_one_out_index(frame)
    assert sorted(index) == ["a", "b", "c"]
    assert index["b"][("s2", "x")]["estimate"] == 0.3
    assert set(index["a"]) == {("s1", ""), ("s2", "")}
    grouped = _grouped({"loo": frame, "none": None})
    assert grouped["none"] == {}
    for aid, part in frame.groupby("analysis_id"):
        assert grouped["loo"][aid] == part.to_dict("records")


def test_atlas_z_is_the_normal_quantile():
    from scipy import stats

    from analysis.brief.atlas import _z

    for level in (90.0, 95.0, 99.0):
        assert _z(level) == float(stats.norm.ppf(1 - (1 - level / 100) / 2))
