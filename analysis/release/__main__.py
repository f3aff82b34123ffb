"""`python -m analysis.release X.Y.Z [--verify]`: the same as analysis.release.build."""

from analysis.release.build import main

if __name__ == "__main__":
    raise SystemExit(main())
