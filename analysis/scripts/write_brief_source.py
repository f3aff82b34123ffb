"""Rule write_brief_source: the brief's Quarto source (brief/brief.qmd) from the results."""

import logging
from typing import TYPE_CHECKING

from analysis.brief.context import write_brief_source
from analysis.inputs.agreement import agreement_summary

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
inp = snakemake.input
analyses = write_brief_source(
    template=inp.template,
    claims_yaml=inp.claims,
    themes_yaml=inp.themes,
    certainty=inp.certainty,
    pooled=inp.pooled,
    units=inp.units,
    effects=inp.effects,
    studies=inp.studies,
    references=inp.references,
    figures_index=inp.figures,
    sensitivity={
        name: inp[name]
        for name in (
            "leave_one_out",
            "estimators",
            "rho",
            "trimfill",
            "subgroups",
            "dependence",
            "metaregression",
        )
    },
    output=snakemake.output.qmd,
    bib=inp.bib,
    css=inp.css,
    build=snakemake.params.build,
    settings=snakemake.params.settings,
    software=snakemake.params.software,
    agreement=agreement_summary(snakemake.params.extracted_dir),
    records_json=inp.records,
    atlas_county=inp.atlas_county[0] if inp.atlas_county else None,
    prisma_svg=inp.prisma,
    csl=inp.csl,
)
logging.info("brief source written: %d analyses", analyses)
