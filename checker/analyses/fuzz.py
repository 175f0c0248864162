"""Byte-level fuzzing of the front end: mutated statement blocks must never crash the checker.

Every theorem block of `proofs/` is mutated (characters deleted, inserted, replaced or
swapped, spans duplicated) with a seeded generator, and each mutant goes through parsing and
elaboration. An input either loads, or is rejected with located diagnostics (a file, a line
and a column for every one); any other exception is a failure, kept with its input so that it
can become a regression case. `python -m checker.analyses.fuzz [-n COUNT] [--seed S]`.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

from checker.api import load_text
from checker.errors import CheckerError, SourceError
from checker.paths import build, proofs, shown

ALPHABET = "abcxyzNpkmhf0123456789 \n\t()[]{}<>=!+-*/^.,:;#\"'_|&\\" + "é∞"
_BLOCK = re.compile(r"^theorem\b", re.MULTILINE)


def blocks(paths: list[Path]) -> list[str]:
    out = []
    for path in paths:
        text = path.read_text()
        starts = [m.start() for m in _BLOCK.finditer(text)] + [len(text)]
        out += [text[a:b] for a, b in zip(starts, starts[1:])]
    return out


def mutate(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        i = rng.randrange(len(chars) + 1)
        if op == 0 and chars:
            del chars[min(i, len(chars) - 1)]
        elif op == 1:
            chars.insert(i, rng.choice(ALPHABET))
        elif op == 2 and chars:
            chars[min(i, len(chars) - 1)] = rng.choice(ALPHABET)
        elif op == 3 and len(chars) > 1:
            j = rng.randrange(len(chars))
            k = min(i, len(chars) - 1)
            chars[k], chars[j] = chars[j], chars[k]
        elif chars:
            j = min(len(chars), i + rng.randint(1, 12))
            chars[i:i] = chars[i:j]
    return "".join(chars)


def fuzz(count: int, seed: int = 0, paths: list[Path] | None = None) -> dict:
    paths = paths or sorted(proofs().glob("*.lim"))
    sources = blocks(paths)
    rng = random.Random(seed)
    loaded = rejected = 0
    failures: list[dict] = []
    started = time.perf_counter()
    for _ in range(count):
        text = mutate(rng.choice(sources), rng)
        try:
            load_text(text, "fuzz.lim")
            loaded += 1
        except SourceError as err:
            rejected += 1
            unlocated = [d for d in err.diagnostics if d.span.line <= 0 or d.span.column <= 0]
            if not err.diagnostics or unlocated:
                failures.append({"input": text, "error": "rejection without a location: " + str(err)[:300]})
        except CheckerError as err:
            rejected += 1
            failures.append({"input": text, "error": f"unlocated {type(err).__name__}: {err}"[:300]})
        except Exception as err:  # noqa: BLE001 - anything else is exactly what fuzzing looks for
            failures.append({"input": text, "error": f"{type(err).__name__}: {err}"[:300]})
    return {"inputs": count, "loaded": loaded, "rejected_with_location": rejected - sum(
        1 for f in failures if f["error"].startswith(("rejection", "unlocated"))),
        "failures": failures, "seconds": round(time.perf_counter() - started, 1), "seed": seed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checker.analyses.fuzz")
    parser.add_argument("-n", type=int, default=10_000, help="number of mutated inputs (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=shown(build() / "reliability" / "fuzz.json"))
    args = parser.parse_args(argv)
    result = fuzz(args.n, args.seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"fuzzing: {result['inputs']} mutated inputs, {result['loaded']} loaded, "
          f"{result['rejected_with_location']} rejected with located errors, "
          f"{len(result['failures'])} failures ({result['seconds']} s)")
    for f in result["failures"][:5]:
        print(f"  {f['error']}\n    input: {f['input'][:200]!r}", file=sys.stderr)
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
