# Helpers and the check of the settings; no rules here. While Snakemake reads
# the workflow, only the settings are validated and the input folders listed:
# no input file is read (the rule check_inputs reads them) and nothing is written.
import os
import sys

from snakemake.utils import validate

validate(config, os.path.join(workflow.basedir, "schemas", "config.schema.yaml"))

sys.path.insert(0, workflow.basedir)
from analysis.inputs import check as _inputs  # noqa: E402  (needs the path above)
from analysis import codepaths as _codepaths  # noqa: E402
from analysis import io as _io  # noqa: E402
from analysis import provenance as _provenance  # noqa: E402
from analysis.inputs import corpusstamp as _corpusstamp  # noqa: E402

_CONFIG_PROBLEMS = _inputs.check_config(config, workflow.basedir)
if _CONFIG_PROBLEMS:
    # Plain lines, no traceback: a reviewer reads this.
    print(
        "The settings have a problem; nothing was read or written:\n"
        + "\n".join(_CONFIG_PROBLEMS),
        file=sys.stderr,
    )
    sys.exit(1)

RESULTS = config["results_dir"]
EXTRACTED = config["extracted_dir"]
BIBLIOGRAPHY = config["bibliography"]
EXTRACTION_FILES, SECOND_CODER_FILES, BIB_FILES = _inputs.listed_inputs(
    EXTRACTED, BIBLIOGRAPHY
)
SETTINGS = {k: config[k] for k in ("estimator", "ci_method", "rho", "alpha")}
# The corpus's folders, for the rules that read a whole folder (its files are their inputs).
CORPUS = {"extracted_dir": EXTRACTED, "bibliography": BIBLIOGRAPHY}
# The extraction files' stamp: named after their paths, sizes and modification times, so
# that Snakemake tracks one file instead of one per study (analysis/inputs/corpusstamp.py).
CORPUS_STAMP = os.path.join(
    RESULTS, ".cache", _corpusstamp.stamp_name(EXTRACTION_FILES)
)


def results(*parts):
    """A path under results_dir: the workflow writes nowhere else."""
    return os.path.join(RESULTS, *parts)


def analysis_code(script):
    """The analysis/ files a rule's script imports (read from the import graph):
    Snakemake tracks only the script file itself."""
    path = os.path.join(workflow.basedir, "analysis", "scripts", f"{script}.py")
    return _codepaths.imported_files(workflow.basedir, path)


def schema_file(name):
    return os.path.join(workflow.basedir, "schemas", f"{name}.schema.yaml")


def report_file(name):
    return os.path.join(workflow.basedir, "report", name)


_BUILD = _provenance.build_info(None, SETTINGS)


def build_info():
    """Version, git commit and commit time (a param: a change re-renders). The input
    fingerprint is the rule check_inputs's (results/.cache/checked.json)."""
    return _BUILD


def checked():
    """What check_inputs (rules/inputs.smk) writes: the counts and the fingerprint of every
    input it checked. Each job that reads the reviewers' inputs needs it, so bad input
    stops the workflow before any such job deletes a result. Only check_inputs lists the
    extraction files as inputs; the jobs after it see a changed corpus as a changed
    fingerprint (Snakemake reruns on a changed checksum), so Snakemake tracks each
    extraction file once, not three times (at 100,000 studies its DAG took 70 s and
    550 MB with three lists). Bookkeeping, not a result, so it lives with the caches in
    .cache/: a failing check deletes it (Snakemake deletes a job's outputs before the job
    runs) and nothing else; the next check writes it again."""
    return results(".cache", "checked.json")


# The open lock file of rules/inputs.smk's onstart: ending the process releases it.
HELD_LOCK = []


def shard_effects(wildcards):
    """A sensitivity shard's effects (rules/pooling.smk), known once the checkpoint
    split_effects has run; shards whose file is unchanged are then not re-run."""
    return checkpoints.split_effects.get().output[int(wildcards.shard)]


def figure_threads(wildcards):
    """Two cores for a first build (every figure is drawn: one core draws the SVGs while
    the other rasterises the PNGs, and nothing else runs beside it); one once the index
    exists, where a rebuild redraws only the changed analyses' figures: a one-core job
    starts as soon as the pools are done, beside the sensitivity shards, instead of
    waiting for both cores to be free."""
    return 1 if os.path.exists(results("figures", "index.csv")) else 2


def brief_targets():
    return [results("brief", "brief.html"), results("brief", "brief.pdf")]


def atlas_targets(config):
    """The atlas outputs, or [] when the public data folder is absent."""
    if not os.path.isdir(config["atlas"]["dir"]):
        return []
    out = os.path.join(config["results_dir"], "atlas")
    return [
        os.path.join(out, "county_correlations.csv"),
        os.path.join(out, "state_correlations.csv"),
        os.path.join(out, "sca2022.yaml"),
    ]
