"""Rule write_brief_source: the brief's Quarto source (brief/brief.qmd) from the results."""

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.brief.context import write_brief_source
from analysis.brief.software import read_software
from analysis.inputs.agreement import agreement_summary

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
inp = snakemake.input
software = read_software(inp.software)
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
    # The input fingerprint comes from the rule check_inputs (not computed at parse time).
    build={**snakemake.params.build, "fingerprint": json.loads(Path(inp.checked).read_text())["fingerprint"]},
    settings=snakemake.params.settings,
    software=software["software"],
    agreement=agreement_summary(snakemake.params.corpus["extracted_dir"]),
    records_json=inp.records,
    atlas_county=inp.atlas_county[0] if inp.atlas_county else None,
    prisma_svg=inp.prisma,
    csl=inp.csl,
    renderer=software["renderer"],
)
logging.info("brief source written: %d analyses", analyses)
