"""`python -m caseshield.respond ACTION ...`: the same actions as `caseshield respond`, usable on their own."""

from __future__ import annotations

import argparse
import sys

from caseshield.respond import add_respond_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="caseshield")
    add_respond_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(["respond", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    sys.exit(main())
