"""``python -m analysis.release X.Y.Z [--verify]``: see analysis.release.cli."""

from analysis.release.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
