"""`make reliability`: four figures, each against its target.

0. soundness: 20,000 generated statements decided by the checker and held against an
   independent oracle (checker/soundness.py), no failure;
1. fuzzing: 10,000 seeded mutations of the statement files through the front end, no crash;
2. second solver: every exported SMT-LIB query re-checked with cvc5, no disagreement with Z3
   (unknowns are listed, not hidden, and do not count as agreement);
3. mutation testing: kill rate (killed + flagged) / (mutants - stillborn - equivalent -
   unchanged statement) of at least 95%, and every survivor explained.

Exit status 0 when every target is met, 1 otherwise. The figures go to
build/reliability/summary.json. Each stage's figures are kept in build/reliability/stages/, keyed
by a hash of the checker's sources, the statements and the stage's settings: a run that was
interrupted resumes at the first stage not finished with the same code (--fresh redoes all).
cvc5 answers and tightness probes come from the cache of
`make verify` when it is warm (keyed by the exact text and the tool versions).

    python -m checker.reliability [--soundness N] [--fuzz N] [--per-theorem N] [--only IDS]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from checker.analyses import fuzz, mutation
from checker.analyses.cache import DEFAULT_ROOT
from checker.decide.engine import Options
from checker.files import write_atomic
from checker.paths import build, project_root, proofs, shown
from checker.paths import results as results_folder
from checker.reports import blocks
from checker.reports.figures import reliability_block
from checker.reports.progress import Progress

FUZZ_TARGET = 10_000
SOUNDNESS_TARGET = 20_000


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--soundness", type=int, default=SOUNDNESS_TARGET,
                    help="generated statements held against the oracle (default 20000)")
    ap.add_argument("--fuzz", type=int, default=FUZZ_TARGET, help="fuzzing inputs (default 10000)")
    ap.add_argument("--per-theorem", type=int, default=4, help="mutants per theorem (default 4; 0: all)")
    ap.add_argument("--only", metavar="IDS", help="mutate only these theorem ids (comma-separated)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cache", default=str(DEFAULT_ROOT))
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    ap.add_argument("--fresh", action="store_true",
                    help="redo every stage, even those a previous run finished with the same code")
    ap.add_argument("--build", default=shown(build() / "reliability"))
    ap.add_argument("--summary", default=shown(results_folder() / "reliability.json"),
                    help="the committed summary the documents' `reliability` blocks are rendered from")
    ap.add_argument("--figures", metavar="DOC", action="append", default=None,
                    help="documents whose `reliability` block this run writes (default: README.md and "
                         "docs/RELIABILITY.md of the project)")


def code_fingerprint() -> str:
    """A hash of what the figures depend on: the checker's sources, its grammar, the statements."""
    root = project_root()
    h = hashlib.sha256()
    files = sorted([*(root / "checker").rglob("*.py"), *(root / "checker").rglob("*.lark"),
                    *(root / "checker").rglob("*.txt"), *proofs().rglob("*.lim"), root / "requirements.txt"])
    # what only prints or orchestrates does not change a figure
    files = [f for f in files if f.name not in ("reliability.py", "cli.py", "progress.py")]
    for f in files:
        if f.is_file():
            name = f.relative_to(root) if f.is_relative_to(root) else f
            h.update(str(name).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


class Stages:
    """Finished stages of a run, kept on disk so that an interrupted run resumes."""

    def __init__(self, folder: Path, fresh: bool):
        self.folder = folder
        self.fresh = fresh
        self.code = code_fingerprint()
        folder.mkdir(parents=True, exist_ok=True)

    def _key(self, name: str, settings: dict) -> str:
        return hashlib.sha256(json.dumps([self.code, name, settings], sort_keys=True).encode()).hexdigest()

    def get(self, name: str, settings: dict) -> dict | None:
        f = self.folder / f"{name}.json"
        if self.fresh or not f.exists():
            return None
        try:
            kept = json.loads(f.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        if kept.get("key") != self._key(name, settings):
            return None
        print(f"{name}: finished by an earlier run with the same code and settings ({f})")
        return kept["result"]

    def records(self, name: str, settings: dict) -> Records:
        """The records a stage keeps one by one (its own file, keyed like the stage)."""
        return Records(self.folder / f"{name}.records.jsonl", self._key(name, settings), self.fresh)

    def put(self, name: str, settings: dict, result: dict) -> None:
        write_atomic(self.folder / f"{name}.json",
                     json.dumps({"key": self._key(name, settings), "result": result}, default=str) + "\n")


class Records:
    """Records appended to a JSON-lines file whose first line holds the key they were made
    under; a file made under another key (other code, other settings) is started afresh, and a
    last line cut short by an interruption is dropped."""

    def __init__(self, path: Path, key: str, fresh: bool):
        self.path, self.key = path, key
        self.records: list[dict] = []
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() and not fresh else []
        try:
            same = bool(lines) and json.loads(lines[0]).get("key") == key
        except json.JSONDecodeError:
            same = False
        if same:
            for line in lines[1:]:
                try:
                    self.records.append(json.loads(line))
                except json.JSONDecodeError:
                    break
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "w", encoding="utf-8") as f:   # rewritten without a damaged tail
            f.write(json.dumps({"key": key}) + "\n")
            for r in self.records:
                f.write(json.dumps(r, default=str) + "\n")

    def __len__(self) -> int:
        return len(self.records)

    def append(self, record: dict) -> None:
        self.records.append(record)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=str) + "\n")

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m checker.reliability", description=__doc__.splitlines()[0])
    add_arguments(ap)
    return run(ap.parse_args(argv))


def run(args) -> int:
    build = Path(args.build)
    build.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict[str, Any] = {}
    ok = True

    stages = Stages(build / "stages", getattr(args, "fresh", False))
    progress = Progress()

    from checker.soundness import harness as soundness
    settings: dict[str, Any] = {"count": args.soundness, "seed": 0}
    sound = stages.get("soundness", settings)
    if sound is None:
        # each statement's record is kept as it comes, so that an interrupted run loses none
        kept = stages.records("soundness", settings)

        def statement_done(record):
            kept.append(record)
            if not args.quiet and (len(kept) % 500 == 0 or len(kept) == args.soundness or record["failures"]):
                progress("soundness", len(kept), args.soundness,
                         "FAILURE " + record["failures"][0]["kind"] if record["failures"] else "")
        if kept.records and not args.quiet:
            print(f"soundness: {len(kept.records)} statements finished by an earlier run are kept", file=sys.stderr)
        sound, records = soundness.run(args.soundness, seed=0, jobs=args.jobs, progress=statement_done,
                                       finished=kept.records)
        soundness.write(sound, records, build / "soundness")
        stages.put("soundness", settings, sound)
        kept.remove()
    sound_ok = sound["failures"] == 0 and not sound["harness_bugs"] and sound["statements"] >= SOUNDNESS_TARGET
    results["soundness"] = {k: sound[k] for k in ("statements", "checks", "verdicts", "failures", "seconds")}
    results["soundness"].update(target=f"at least {SOUNDNESS_TARGET} statements, no failure", met=sound_ok)
    print(f"soundness: {sound['statements']} generated statements, {sound['checks']} checks "
          f"({', '.join(f'{n} {v}' for v, n in sorted(sound['verdicts'].items()))}), {sound['failures']} failures "
          f"against the oracle ({sound['seconds']} s): {'met' if sound_ok else 'NOT MET'}")
    for key, fc in sound["failure_classes"].items():
        print(f"  FAILURE {key} ({fc['count']}x): {fc['example'].splitlines()[0]}")

    f = stages.get("fuzzing", {"count": args.fuzz, "seed": 0})
    if f is None:
        f = fuzz.fuzz(args.fuzz, 0)
        stages.put("fuzzing", {"count": args.fuzz, "seed": 0}, f)
    fuzz_ok = not f["failures"] and f["inputs"] >= FUZZ_TARGET
    (build / "fuzz.json").write_text(json.dumps(f, indent=2))
    results["fuzzing"] = {"inputs": f["inputs"], "failures": len(f["failures"]), "seconds": f["seconds"],
                          "target": f"at least {FUZZ_TARGET} inputs, no failure", "met": fuzz_ok}
    print(f"fuzzing: {f['inputs']} inputs, {f['loaded']} loaded, {f['rejected_with_location']} rejected with "
          f"located errors, {len(f['failures'])} failures ({f['seconds']} s): {'met' if fuzz_ok else 'NOT MET'}")

    solver = stages.get("second_solver", {})
    if solver is None:
        t0 = time.perf_counter()
        from checker.pipeline import VerifySettings, verify_run
        run_ = verify_run(VerifySettings(paths=[str(proofs())], build=build / "verify", second_solver=True,
                                         cache=args.cache, jobs=args.jobs,
                                         options=Options(build_dir=build / "verify")),
                          None if args.quiet else progress)
        second = run_.second_solver or {}
        solver = {k: second.get(k) for k in ("solver", "files", "agree", "disagree", "unknown",
                                             "agreement_rate", "coverage", "from_cache")}
        solver.update(verify_exit=0 if run_.ok else 1, target="no disagreement; unknowns listed",
                      met=run_.ok and second.get("disagree", 1) == 0,
                      seconds=round(time.perf_counter() - t0, 1),
                      unknowns=[e["file"] for e in second.get("unknowns", [])],
                      not_as_expected=[f"{r.id} check {r.check_index + 1}: {r.status.value} ({r.reason[:200]})"
                                       for r in run_.results if not r.as_expected])
        stages.put("second_solver", {}, solver)
    solver_ok = bool(solver["met"])
    results["second_solver"] = {k: v for k, v in solver.items() if k != "not_as_expected"}
    rate = solver.get("agreement_rate")
    print(f"second solver: {solver.get('solver')}: {solver.get('files')} queries, {solver.get('agree')} agree, "
          f"{solver.get('disagree')} disagree, {solver.get('unknown')} unknown (listed in "
          f"{build / 'verify' / 'report.json'}); agreement {'n/a' if rate is None else f'{rate:.1%}'} of the "
          f"queries both decided: {'met' if solver_ok else 'NOT MET'}")
    for line in solver.get("not_as_expected", []):
        print(f"  NOT AS EXPECTED {line}", file=sys.stderr)

    only = set(args.only.split(",")) if args.only else None
    settings = {"per_theorem": args.per_theorem, "only": sorted(only) if only else None}
    m = stages.get("mutation", settings)
    if m is None:
        m = mutation.run_mutation([str(proofs())], 2.0, args.per_theorem or None, args.jobs, only, args.cache,
                                  None if args.quiet else progress)
        m = json.loads(json.dumps(m, default=str))
        (build / "mutation.json").write_text(json.dumps(m, indent=2))
        stages.put("mutation", settings, m)
    mutation_ok = mutation.meets_target(m)
    results["mutation"] = {k: m[k] for k in ("mutants", "stillborn", "killed", "flagged", "flagged_by_necessity",
                                             "flagged_by_tightness", "survived_equivalent",
                                             "survived_unchanged_statement", "survived_explained_other",
                                             "survived_unexplained", "denominator", "kill_rate", "formula",
                                             "seconds")}
    results["mutation"].update(target=f"kill rate >= {mutation.TARGET:.0%}, every survivor explained",
                               met=mutation_ok)
    print(f"mutation: {m['mutants']} mutants, {m['killed']} killed, {m['flagged']} flagged, "
          f"{m['survived_equivalent'] + m['survived_unchanged_statement']} equivalent, "
          f"{m['survived_explained_other']} survivors explained, {m['survived_unexplained']} not explained; "
          f"kill rate {m['kill_rate']:.1%} = ({m['killed']} + {m['flagged']}) / {m['denominator']} "
          f"({m['seconds']} s): {'met' if mutation_ok else 'NOT MET'}")
    for s in m["survivors"]:
        if not s["explained"]:
            print(f"  NOT EXPLAINED {s['theorem']}: {s['description']}: {s['explanation']}")

    ok = sound_ok and fuzz_ok and solver_ok and mutation_ok
    # the work of every stage, including stages an earlier run finished
    results["seconds"] = round(sum(float(results[k].get("seconds") or 0) for k in
                                   ("soundness", "fuzzing", "second_solver", "mutation")), 1)
    results["seconds_this_run"] = round(time.perf_counter() - started, 1)
    results["all_met"] = ok
    (build / "summary.json").write_text(json.dumps(results, indent=2, default=str))
    complete = args.soundness >= SOUNDNESS_TARGET and args.fuzz >= FUZZ_TARGET and not args.only
    if complete:  # only a full run stands for the project's figures
        write_atomic(Path(args.summary), json.dumps(results, indent=2, default=str) + "\n")
        docs = args.figures if args.figures is not None else [project_root() / "README.md",
                                                              project_root() / "docs" / "RELIABILITY.md"]
        for doc in docs:
            blocks.update(Path(doc), {"reliability": reliability_block(results)})
    print(f"reliability: {'every target met' if ok else 'a target is NOT met'} "
          f"({results['seconds']} s; details in {build}/)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
