"""The Slurm profile (profiles/slurm) on a real, single-node Slurm cluster started for this test.

tests/workflow/slurm/cluster.py installs Debian's Slurm and munge when they are
missing (as root), starts munged, slurmctld and slurmd by hand, and stops them
afterwards. The workflow runs on a small synthetic corpus through the profile,
every job submitted with sbatch; the results must equal a local run's byte for
byte. The cluster has no accounting, so the executor queries squeue (the
profile's slurm-status-command), never sacct.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from benchmarks.generate import generate
from tests.conftest import ROOT
from tests.workflow.conftest import run_workflow
from tests.workflow.slurm import cluster as slurm

# Whole-run bound: about a minute here (each job starts a Snakemake in an sbatch
# job); timeout -k kills a hung run, so a broken cluster cannot stall CI.
RUN_TIMEOUT = 300
# Files compared byte for byte between the local and the cluster run.
COMPARED = [
    "effects.csv",
    "studies.csv",
    "pooled.csv",
    "units.csv",
    "sensitivity/leave_one_out.csv",
    "sensitivity/estimators.csv",
    "sensitivity/rho.csv",
    "sensitivity/trimfill.csv",
    "sensitivity/subgroups.csv",
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        pytest.skip(
            "snakemake-executor-plugin-slurm is not installed (it is in requirements.lock; "
            "run `make test` to install the pinned set)"
        )
    reason = slurm.unavailable()
    if reason:
        pytest.skip(reason)
    running = slurm.start(tmp_path_factory.mktemp("slurm"))
    try:
        yield running
    finally:
        slurm.stop(running)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return generate(20, seed=11, out_dir=tmp_path_factory.mktemp("corpus"))


def test_profile_on_a_slurm_cluster_gives_the_local_results(cluster, corpus, tmp_path):
    extracted, bib = corpus
    local, remote = tmp_path / "local", tmp_path / "slurm"
    targets = [str(remote / name) for name in COMPARED]
    command = [
        "timeout",
        "-k",
        "10",
        str(RUN_TIMEOUT),
        sys.executable,
        "-m",
        "snakemake",
        *targets,
        "--profile",
        str(ROOT / "profiles" / "slurm"),
        # This test cluster has no accounts, and its jobs take seconds.
        "--slurm-no-account",
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--slurm-logdir",
        str(tmp_path / "slurm-logs"),
        "--latency-wait",
        "5",
        "--config",
        f"extracted_dir={extracted}",
        f"bibliography={bib}",
        f"results_dir={remote}",
        "sensitivity_shards=2",
    ]
    done = subprocess.run(command, cwd=ROOT, env=cluster.env, capture_output=True, text=True)
    output = done.stdout + done.stderr
    assert done.returncode == 0, (
        f"cluster run failed ({done.returncode}; 124 = timed out):\n{output[-6000:]}\n" + slurm.logs(cluster)
    )
    submitted = output.count("has been submitted with SLURM jobid")
    assert submitted >= 6, output[-3000:]  # bibliography, effects, pooling, split, 2 shards
    # Status queries went to squeue: the plugin says so when it falls back to sacct.
    assert "Falling back to 'sacct'" not in output

    run_workflow(extracted, bib, local, *[str(local / name) for name in COMPARED])
    for name in COMPARED:
        assert (remote / name).read_bytes() == (local / name).read_bytes(), name
