"""A throw-away single-node Slurm cluster on this machine, for the Slurm profile's test.

There is no systemd here, so the daemons are started by hand: ``munged``
(with its own key and socket), ``slurmctld`` and ``slurmd``, all in the
foreground as children of this process, with a minimal ``slurm.conf``
(``slurm.conf.in``: this host, all its CPUs, no accounting, loopback only).
Everything they write (state, spool, logs, key, socket) is under one folder,
and stopping kills exactly the processes started here, by their ids.

Debian's packages (``slurmctld``, ``slurmd``, ``slurm-client``, ``munge``)
are installed when missing and this runs as root.

By hand (from the repository root)::

    .venv/bin/python -m tests.workflow.slurm.cluster start /tmp/slurm   # prints SLURM_CONF=...
    SLURM_CONF=/tmp/slurm/slurm.conf sinfo
    .venv/bin/python -m tests.workflow.slurm.cluster stop /tmp/slurm
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "slurm.conf.in"
PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
COMMANDS = [
    "slurmctld",
    "slurmd",
    "sbatch",
    "squeue",
    "scancel",
    "sinfo",
    "scontrol",
    "munged",
    "mungekey",
    "munge",
    "unmunge",
]
# Installing the four packages takes about a minute; an apt lock held by
# another installer is waited for up to this long.
APT_TIMEOUT = 900
# slurmd registers with slurmctld within a few seconds.
READY_TIMEOUT = 90
STOP_TIMEOUT = 20


class ClusterError(RuntimeError):
    """The cluster could not be started; the message holds the daemons' logs."""


@dataclass
class Cluster:
    folder: Path
    conf: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """The environment for Slurm's client commands (and Snakemake) to use this cluster."""
        return dict(os.environ, SLURM_CONF=str(self.conf))


def missing_commands() -> list[str]:
    return [c for c in COMMANDS if shutil.which(c) is None and not Path("/usr/sbin", c).exists()]


def _which(command: str) -> str:
    return shutil.which(command) or str(Path("/usr/sbin", command))


def unavailable() -> str | None:
    """Why a cluster cannot be started here (None when it can), installing Slurm if needed."""
    if sys.platform != "linux":
        return "a local Slurm cluster needs Linux"
    if os.geteuid() != 0:
        return "starting slurmd and installing Slurm need root; run the tests as root (as CI does)"
    missing = missing_commands()
    if not missing:
        return None
    if shutil.which("apt-get") is None:
        return f"Slurm is not installed ({', '.join(missing)} missing) and apt-get is unavailable"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    lock = ["-o", f"DPkg::Lock::Timeout={APT_TIMEOUT}"]
    install = ["apt-get", *lock, "install", "-y", "-qq", "--no-install-recommends", *PACKAGES]
    for command in (install, ["apt-get", *lock, "update", "-qq"], install):
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT)
        except subprocess.TimeoutExpired:
            return f"`{' '.join(command)}` did not finish in {APT_TIMEOUT} s"
        if done.returncode == 0 and command is install:
            break  # installed (the first try works when the package lists are fresh)
    missing = missing_commands()
    if missing:
        return f"Slurm could not be installed from Debian's packages ({', '.join(missing)} missing)"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            # Slurm drains a node that has less memory than configured: claim 90%.
            return int(int(line.split()[1]) / 1024 * 0.9)
    raise ClusterError("cannot read MemTotal from /proc/meminfo")


def write_conf(folder: Path) -> Path:
    ctld_port = _free_port()
    slurmd_port = _free_port()
    while slurmd_port == ctld_port:
        slurmd_port = _free_port()
    values = {
        "@DIR@": str(folder),
        "@HOST@": socket.gethostname().split(".")[0],
        "@CTLD_PORT@": str(ctld_port),
        "@SLURMD_PORT@": str(slurmd_port),
        "@USER@": "root",
        "@CPUS@": str(os.cpu_count() or 1),
        "@MEM_MB@": str(_memory_mb()),
    }
    text = TEMPLATE.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(key, value)
    conf = folder / "slurm.conf"
    conf.write_text(text, encoding="utf-8")
    return conf


def _ctld_port(conf: Path) -> str:
    for line in conf.read_text(encoding="utf-8").splitlines():
        if line.startswith("SlurmctldPort="):
            return line.split("=", 1)[1].strip()
    raise ClusterError(f"{conf} has no SlurmctldPort")


def _spawn(cluster: Cluster, name: str, command: list[str]) -> None:
    log = open(cluster.folder / f"{name}.out", "ab")  # noqa: SIM115 - kept open by the child
    cluster.processes[name] = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=cluster.env,
        start_new_session=True,
    )
    (cluster.folder / "pids.json").write_text(
        json.dumps({n: p.pid for n, p in cluster.processes.items()}), encoding="utf-8"
    )


def logs(cluster: Cluster, lines: int = 30) -> str:
    out = []
    for name in ("munged.out", "slurmctld.log", "slurmctld.out", "slurmd.log", "slurmd.out"):
        path = cluster.folder / name
        if path.is_file():
            tail = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
            out.append(f"--- {path}\n" + "\n".join(tail))
    return "\n".join(out)


def node_state(cluster: Cluster) -> str:
    done = subprocess.run(
        [_which("sinfo"), "-h", "-N", "-o", "%T"], env=cluster.env, capture_output=True, text=True, timeout=20
    )
    return done.stdout.strip() if done.returncode == 0 else ""


# slurmd in configless mode reaches munged before it has slurm.conf, so at
# munge's default socket (on tmpfs; removed again when the test stops munged).
MUNGE_SOCKET = Path("/run/munge/munge.socket.2")


def munge_works() -> bool:
    """Whether a munged answers at the default socket (then it is used, and left running)."""
    if not MUNGE_SOCKET.exists():
        return False
    try:
        cred = subprocess.run([_which("munge"), "-n"], capture_output=True, timeout=10)
        back = subprocess.run([_which("unmunge")], input=cred.stdout, capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return cred.returncode == 0 and back.returncode == 0


def _start_munged(cluster: Cluster) -> None:
    folder = cluster.folder
    key = folder / "munge.key"
    if not key.exists():
        subprocess.run(
            [_which("mungekey"), "--create", f"--keyfile={key}"], check=True, capture_output=True, timeout=30
        )
    MUNGE_SOCKET.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    _spawn(
        cluster,
        "munged",
        [
            _which("munged"),
            "--foreground",
            "--force",
            f"--socket={MUNGE_SOCKET}",
            f"--key-file={key}",
            f"--pid-file={folder / 'munged.pid'}",
            f"--seed-file={folder / 'munged.seed'}",
            f"--log-file={folder / 'munged.log'}",
        ],
    )
    _wait_for(munge_works, "munged", cluster)


def start(folder: str | Path) -> Cluster:
    """Start munged, slurmctld and slurmd with state under ``folder``; wait for an idle node."""
    folder = Path(folder).resolve()
    for sub in ("state", "spool"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    cluster = Cluster(folder, write_conf(folder))
    try:
        if not munge_works():
            _start_munged(cluster)
        _spawn(cluster, "slurmctld", [_which("slurmctld"), "-D", "-f", str(cluster.conf)])
        host = socket.gethostname().split(".")[0]
        _spawn(
            cluster,
            "slurmd",
            [_which("slurmd"), "-D", "-N", host, f"--conf-server=127.0.0.1:{_ctld_port(cluster.conf)}"],
        )
        _wait_for(
            lambda: node_state(cluster) in ("idle", "mixed", "allocated"), "an idle Slurm node", cluster
        )
    except BaseException:
        stop(cluster)
        raise
    return cluster


def _wait_for(check, what: str, cluster: Cluster) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        for name, proc in cluster.processes.items():
            if proc.poll() is not None:
                raise ClusterError(
                    f"{name} exited ({proc.returncode}) while waiting for {what}:\n" + logs(cluster)
                )
        if check():
            return
        time.sleep(0.5)
    raise ClusterError(
        f"no {what} after {READY_TIMEOUT} s (node state {node_state(cluster)!r}):\n" + logs(cluster)
    )


def cancel_all(cluster: Cluster) -> None:
    """Cancel every job of this (private) cluster and wait for the queue to empty."""
    if "slurmctld" not in cluster.processes or cluster.processes["slurmctld"].poll() is not None:
        return
    env = cluster.env
    try:
        queue = subprocess.run(
            [_which("squeue"), "-h", "-o", "%i"], env=env, capture_output=True, text=True, timeout=20
        ).stdout.split()
        if queue:
            subprocess.run([_which("scancel"), *queue], env=env, capture_output=True, timeout=20)
        deadline = time.monotonic() + STOP_TIMEOUT
        while queue and time.monotonic() < deadline:
            time.sleep(0.5)
            queue = subprocess.run(
                [_which("squeue"), "-h", "-t", "PD,R,CG", "-o", "%i"],
                env=env,
                capture_output=True,
                text=True,
                timeout=20,
            ).stdout.split()
    except (OSError, subprocess.TimeoutExpired):
        pass


def stop(cluster: Cluster) -> None:
    """Cancel the jobs, then stop slurmd, slurmctld and munged (only the processes started here)."""
    cancel_all(cluster)
    for name in ("slurmd", "slurmctld", "munged"):
        proc = cluster.processes.get(name)
        if proc is None or proc.poll() is not None:
            continue
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)
    _unlink_conf_link(cluster.folder)


def _unlink_conf_link(folder: Path) -> None:
    """Remove slurmd's /run/slurm/conf link when it points into our folder."""
    link = Path("/run/slurm/conf")
    try:
        if link.is_symlink() and str(folder) in os.readlink(link):
            link.unlink()
    except OSError:
        pass


def _stop_folder(folder: Path) -> None:
    """Stop the daemons a `start` command left running, by the ids it recorded."""
    pids = json.loads((folder / "pids.json").read_text(encoding="utf-8"))
    conf = folder / "slurm.conf"
    subprocess.run(
        [_which("scancel"), "--user=root"],
        env=dict(os.environ, SLURM_CONF=str(conf)),
        capture_output=True,
        timeout=20,
    )
    for name in ("slurmd", "slurmctld", "munged"):
        pid = pids.get(name)
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, TypeError):
            continue
        if name in cmdline and (str(folder) in cmdline or "conf-server" in cmdline):
            # still the process we started
            os.kill(pid, signal.SIGTERM)
    _unlink_conf_link(folder)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print(__doc__)
        return 2
    folder = Path(argv[1]).resolve()
    if argv[0] == "stop":
        _stop_folder(folder)
        return 0
    reason = unavailable()
    if reason:
        print(reason, file=sys.stderr)
        return 1
    cluster = start(folder)
    for proc in cluster.processes.values():
        proc.returncode = 0  # leave them running after this command exits
    print(f"SLURM_CONF={cluster.conf}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
