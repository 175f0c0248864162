"""`limits`: one command with a subcommand for everything the project does.

    limits verify [PATHS]          decide every statement (proofs/ by default)
    limits check FILE              one file, with the methods and steps of each proof
    limits soundness               generated statements against an independent oracle
    limits mutation                mutation testing of the corpus
    limits reliability             soundness, fuzzing, cvc5 agreement, mutation: each against its target
    limits crosscheck              measure real models against the verified bounds
    limits counterexamples         prompts on which real models fail
    limits replay FILE             ask again and report which failures reproduce
    limits bench                   speed, memory and reach against baselines
    limits report                  the paper, checked, as a static site (build/site)

`limits COMMAND --help` describes each. The checker's commands never import torch; the
empirical ones need the `empirical` extra (`pip install -e .[empirical]`).
"""
from __future__ import annotations

import argparse
import sys

from limits import __version__


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="limits", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Check what theory says about the limits of LLMs, and hold it against real models.",
        epilog="\n".join(__doc__.splitlines()[2:14]))
    top.add_argument("--version", action="version", version=f"limits {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from checker.cli import register as checker_commands
    checker_commands(sub)
    from empirical.cli import register as empirical_commands
    empirical_commands(sub)
    from bench.run import register as bench_command
    bench_command(sub)
    from limits.site import register as report_command
    report_command(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exit_:
        return 2 if exit_.code not in (0, None) else 0
    try:
        return args.run(args)
    except BrokenPipeError:  # the reader went away (`limits verify --json | head`): stop quietly
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
