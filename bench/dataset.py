"""`python -m bench.dataset --cases N --items N --citizens N --out FILE` (with the node's
settings in the environment): make sure the database holds N generated cases
(`bench.cases`, built once and extended, never rebuilt), and write FILE (JSON) with what
the inbox and case-page scenarios need: a signed-in clerk's session cookie and the case
numbers to open. Other scenarios over the same data set (a dashboard) use it as well."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, required=True)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--citizens", type=int, default=2000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongban.settings")
    import django

    django.setup()
    from bench.cases import prepare

    args.out.parent.mkdir(parents=True, exist_ok=True)
    prepare(args.cases, items=args.items, citizens=args.citizens, out=args.out)


if __name__ == "__main__":
    main()
