"""The software behind the numbers and the brief, for its methods section.

Read by rules/brief.smk while the workflow is parsed: package metadata only, no heavy
imports, so that a change of environment is a change of params.
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
