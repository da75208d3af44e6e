"""Regenerate the README's two pictures: run `w2v demo` and keep what it draws.

    python tools/make_readme_pictures.py                 # writes docs/img/demo-curves.png, demo-map.png
    python tools/make_readme_pictures.py --threads 1     # fewer threads (a run with 1 is reproducible)

The demo trains on the embedded WordNet-glosses corpus (under a minute on 2 cores) and saves its
pictures beside its vectors, in a temporary directory here; the two PNGs are copied to docs/img/.
Needs the [plot] extra (matplotlib). Each picture must stay under 150 KB, the README's budget.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from w2v import demo, plot  # noqa: E402

MAX_BYTES = 150_000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "img"), help="where the pictures go (default docs/img)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args(argv)
    if not plot.available():
        print(f"the pictures need matplotlib: {plot.INSTALL_HINT}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        demo.run(output=os.path.join(tmp, "demo-vectors.txt"), workers=args.threads, epochs=args.epochs)
        too_big = []
        for name in (demo.CURVES, demo.MAP):
            target = os.path.join(args.out, name)
            shutil.copyfile(os.path.join(tmp, name), target)
            size = os.path.getsize(target)
            print(f"{target}: {size / 1000:.0f} KB")
            if size > MAX_BYTES:
                too_big.append(target)
    if too_big:
        print(f"over {MAX_BYTES // 1000} KB: {', '.join(too_big)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
