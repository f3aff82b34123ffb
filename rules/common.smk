# Helpers and input validation; no rules here.
import glob
import os
import sys

from snakemake.utils import validate

validate(config, os.path.join(workflow.basedir, "schemas", "config.schema.yaml"))

sys.path.insert(0, workflow.basedir)
from analysis.inputs import check as _inputs  # noqa: E402  (needs the path above)
from analysis import codepaths as _codepaths  # noqa: E402
from analysis import provenance as _provenance  # noqa: E402

RESULTS = config["results_dir"]
SECOND_CODER_FILES = sorted(
    glob.glob(os.path.join(config["extracted_dir"], "second-coder", "*.yaml"))
)
EXTRACTED = config["extracted_dir"]
BIBLIOGRAPHY = config["bibliography"]


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


# Validate every input before any job runs, so that bad input stops the
# workflow with all its problems listed and earlier results stay intact.
try:
    EXTRACTION_FILES, BIB_FILES = _inputs.check_inputs(EXTRACTED, BIBLIOGRAPHY, RESULTS)
except _inputs.InputError as err:
    # Plain lines, no traceback: a reviewer reads this.
    print(
        f"The inputs have {len(err.problems)} problem(s); nothing was run and "
        "earlier results are unchanged:\n" + "\n".join(err.problems),
        file=sys.stderr,
    )
    sys.exit(1)

_SETTINGS = {k: config[k] for k in ("estimator", "ci_method", "rho", "alpha")}
_BUILD = _provenance.build_info(EXTRACTION_FILES + BIB_FILES, _SETTINGS)


def build_info():
    """Version, git commit, commit time and input fingerprint (a param: a change re-renders)."""
    return _BUILD


def shard_effects(wildcards):
    """A sensitivity shard's effects (rules/pooling.smk), known once the checkpoint
    split_effects has run; shards whose file is unchanged are then not re-run."""
    return checkpoints.split_effects.get().output[int(wildcards.shard)]


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
