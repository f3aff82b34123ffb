"""The software behind the numbers and the brief, for its methods section.

Recorded by rule record_software (results/brief/software.json): it runs `pandoc --version`
and `quarto --version`, so the workflow does it in a job, not while it is parsed.
"""

from __future__ import annotations


def software_versions() -> dict[str, str]:
    """Versions of the software that makes the numbers and the brief (no imports; fast)."""
    import platform
    import shutil
    import subprocess
    from importlib import metadata

    versions = {"Python": platform.python_version()}
    for name, dist in (
        ("pymare", "pymare"),
        ("numpy", "numpy"),
        ("scipy", "scipy"),
        ("pandas", "pandas"),
        ("matplotlib", "matplotlib"),
        ("Snakemake", "snakemake"),
        ("Jinja2", "jinja2"),
        ("pandoc (pypandoc-binary)", "pypandoc-binary"),
        ("typst", "typst"),
    ):
        try:
            versions[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    try:
        import pypandoc

        versions["pandoc"] = pypandoc.get_pandoc_version()
        versions.pop("pandoc (pypandoc-binary)", None)
    except Exception:  # noqa: BLE001 - the version is information, not a requirement
        pass
    if shutil.which("quarto"):
        done = subprocess.run(["quarto", "--version"], capture_output=True, text=True)
        versions["Quarto"] = done.stdout.strip() or "unknown"
    return versions


def write_software(path, renderer_setting: str) -> dict:
    """Rule record_software: the software versions and the renderer, as JSON at ``path``."""
    import json

    from analysis.brief.render import resolve_renderer
    from analysis.io import write_text_atomic

    record = {"renderer": resolve_renderer(renderer_setting), "software": software_versions()}
    write_text_atomic(path, json.dumps(record, indent=2) + "\n")  # software in its own order
    return record


def read_software(path) -> dict:
    """What :func:`write_software` wrote."""
    import json
    from pathlib import Path

    return json.loads(Path(path).read_text(encoding="utf-8"))
