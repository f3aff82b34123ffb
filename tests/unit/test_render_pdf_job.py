"""Rule render_brief_pdf's command (analysis/scripts/render_brief_pdf.py, run by the rule's
shell command with glibc's allocator settings): the PDF of an in-process render, byte for
byte, whatever the allocator; the renderer in its log; bad arguments refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from analysis.brief.render import render_pdf

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "analysis" / "scripts" / "render_brief_pdf.py"
TUNABLES = "glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=65536"


def _brief(tmp_path: Path) -> dict[str, Path]:
    results = tmp_path / "results"
    (results / "brief").mkdir(parents=True)
    (results / "figures").mkdir()
    files = {
        "qmd": results / "brief" / "brief.qmd",
        "bib": results / "references.bib",
        "figures": results / "figures" / "index.csv",
        "prisma": results / "brief" / "prisma.svg",
        "software": results / "brief" / "software.json",
        "csl": ROOT / "report" / "brief.csl",
    }
    files["qmd"].write_text(
        "---\ntitle: A brief\n---\n\n# Findings\n\nText [@a2020].\n\n# References\n", encoding="utf-8"
    )
    files["bib"].write_text(
        "@article{a2020, author={Ann Author}, title={A title}, year={2020}}\n", encoding="utf-8"
    )
    files["figures"].write_text("analysis_id,kind,svg,png,alt,hash\n", encoding="utf-8")
    files["prisma"].write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', encoding="utf-8"
    )
    files["software"].write_text(json.dumps({"renderer": {"name": "pandoc"}}), encoding="utf-8")
    return files


def _command(files: dict[str, Path], pdf: Path, log: Path) -> list[str]:
    args = [sys.executable, str(SCRIPT)]
    for name in ("qmd", "bib", "figures", "csl", "prisma", "software"):
        args += [f"--{name}", str(files[name])]
    return [*args, "--pdf", str(pdf), "--epoch", "1700000000", "--log", str(log)]


def test_the_command_writes_the_pdf_of_an_in_process_render(tmp_path):
    files = _brief(tmp_path)
    pdf, log = tmp_path / "job.pdf", tmp_path / "job.log"
    env = {**os.environ, "GLIBC_TUNABLES": TUNABLES}
    subprocess.run(_command(files, pdf, log), check=True, env=env, cwd=tmp_path)
    here = tmp_path / "here.pdf"
    figures = files["figures"].parent
    render_pdf(files["qmd"], files["bib"], here, epoch=1700000000, figures=figures, root=figures.parent,
               others=[files["csl"], files["prisma"]], renderer="pandoc")  # fmt: skip
    assert pdf.read_bytes() == here.read_bytes() and pdf.read_bytes().startswith(b"%PDF")
    assert "rendered with pandoc" in log.read_text(encoding="utf-8")


def test_a_missing_argument_is_refused_and_writes_nothing(tmp_path):
    files = _brief(tmp_path)
    command = _command(files, tmp_path / "job.pdf", tmp_path / "job.log")
    done = subprocess.run(command[: command.index("--epoch")], capture_output=True, text=True)
    assert done.returncode == 2 and "--epoch" in done.stderr
    assert not (tmp_path / "job.pdf").exists()


def test_the_rules_command_sets_the_allocator_and_the_checkout(tmp_path):
    """The rule's shell command, as Snakemake runs it (bash), with a user's own settings."""
    rule = (ROOT / "rules" / "brief.smk").read_text(encoding="utf-8")
    assert f'tunables="{TUNABLES}"' in rule
    start = rule.index("rule render_brief_pdf:")
    lines = rule[rule.index("    shell:\n", start) :].splitlines()[1:5]
    command = "".join(eval(line.strip()) for line in lines)  # the rule's string literals  # noqa: S307
    prefix = command[: command.index(" exec ")]
    shell = prefix.replace("{{", "{").replace("}}", "}")
    shell = shell.replace("{params.tunables}", TUNABLES)
    done = subprocess.run(
        ["bash", "-c", f'{shell} sh -c \'printf "%s" "$GLIBC_TUNABLES"\''],
        capture_output=True, text=True, check=True,
        env={**os.environ, "GLIBC_TUNABLES": "glibc.malloc.arena_max=1"},
    )  # fmt: skip
    assert done.stdout == f"{TUNABLES}:glibc.malloc.arena_max=1"


def test_the_script_imports_its_own_checkouts_analysis(tmp_path):
    """Run from another checkout with this environment's Python, the job uses that
    checkout's code (the one its rule's code input tracks), not this one's."""
    import shutil

    other = tmp_path / "checkout"
    shutil.copytree(ROOT / "analysis", other / "analysis", ignore=shutil.ignore_patterns("__pycache__"))
    script = other / "analysis" / "scripts" / "render_brief_pdf.py"
    code = (
        f"import runpy, sys\nsys.argv = [{str(script)!r}, '--help']\n"
        f"try:\n    runpy.run_path({str(script)!r}, run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print(sys.modules['analysis.brief.render'].__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert done.stdout.strip().splitlines()[-1] == str(other / "analysis" / "brief" / "render.py")
