"""Profile every rule script of a Snakemake run (``benchmarks/profile.py`` puts this on PYTHONPATH).

When ``BENCH_PROFILE_DIR`` is set and this process runs a ``script:`` of a rule
(Snakemake writes it to ``.snakemake/scripts/tmpXXXX.<script>.py``), cProfile runs
for the whole process and its statistics are written at exit to
``$BENCH_PROFILE_DIR/<script>.<pid>.prof``. Any other process is left alone.
"""

import os
import sys

_DIR = os.environ.get("BENCH_PROFILE_DIR")
_SCRIPT = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
if _DIR and "/.snakemake/scripts/" in os.path.abspath(sys.argv[0] or "") and _SCRIPT.endswith(".py"):
    import atexit
    import cProfile

    _NAME = _SCRIPT.split(".", 1)[1][: -len(".py")] if "." in _SCRIPT[:-3] else _SCRIPT[:-3]
    _PROFILE = cProfile.Profile()

    def _dump() -> None:
        _PROFILE.disable()
        _PROFILE.dump_stats(os.path.join(_DIR, f"{_NAME}.{os.getpid()}.prof"))

    atexit.register(_dump)
    _PROFILE.enable()
