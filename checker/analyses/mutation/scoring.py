"""Scoring: each mutant is decided and compared with the original (killed, flagged by the
tightness or necessity report, stillborn, or a survivor with its explanation), and the corpus
kill rate is computed over the mutants that could be told apart."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from checker.analyses import tightness as T
from checker.analyses.cache import DEFAULT_ROOT as DEFAULT_CACHE
from checker.analyses.cache import Cache
from checker.analyses.mutation.operators import OPERATORS, Mutant, mutants
from checker.analyses.mutation.relations import explain, statuses_cached
from checker.api import statement_files
from checker.decide.engine import Options
from checker.errors import SourceError
from checker.language import syntax as S
from checker.language.parser import parse_source
from checker.language.printer import theorem_to_source

TARGET = 0.95


@dataclass
class MutantResult:
    theorem: str
    file: str
    description: str
    operator: str
    outcome: str           # "killed" | "survived" | "stillborn"
    original: list[str] = field(default_factory=list)
    mutant: list[str] = field(default_factory=list)
    explanation: str = ""  # why killed, flagged, or surviving
    explained: bool = False
    category: str = ""     # killed: verdict; flagged: tightness;
                           # survived: equivalent | unchanged statement | explained | unexplained
    source: str = ""


def _stronger_sibling(orig: _Original, m: Mutant) -> str | None:
    """The original's tightness probe whose stronger sibling is exactly the mutant, when that probe
    holds: `<=` made strict in a claim, `<` made non-strict in a hypothesis, `exists` made `forall`
    in a claim, ... (checker.tightness builds only stronger siblings at sites of one polarity)."""
    for key in _site_keys(orig.thm, m):
        site = orig.sites.get(key)
        if site is None or site.kind not in ("comparison", "quantifier", "connective") or site.polarity == "±":
            continue
        for label, sibling in T.probes(orig.thm, site)[1]:
            if theorem_to_source(sibling) != m.source:
                continue
            entry = orig.entry(key)
            if any(p["label"] == label and p["outcome"] == "holds" for p in entry.probes):
                return f"{label} sibling at {site.location} ({site.kind} `{site.text}`)"
    return None


def _site_keys(thm: S.Theorem, m: Mutant) -> list[str]:
    keys = [s.key for s in T.sites(thm) if s.item == m.item and s.path == m.path]
    if m.section in ("assume", "let") and thm.assumptions:
        keys.append("theorem:vacuity")
    return keys


def difference(a, b) -> str | None:
    """A warning the mutant's tightness report gives at a site and the original's does not, or
    None. A probe that holds is the warning (slack: a stronger sibling also holds; vacuous: the
    hypotheses admit no value). It counts only where the original's probe of that label was
    decided and fails, or where the original has no probe of that label (its form admits no
    stronger sibling there). A warning the original has and the mutant lacks is no flag: that
    mutant is the stronger sibling the original's report already names. Undecided probes never
    count, and neither does a site that merely exists on one side only."""
    pa = {p["label"]: p["outcome"] for p in a.probes} if a else {}
    pb = {p["label"]: p["outcome"] for p in b.probes} if b else {}
    for label in sorted(pb):
        if pb[label] != "holds":
            continue
        if pa.get(label) == "fails":
            return (f"the mutant's report warns that its {label} sibling holds ({b.verdict}), where the "
                    f"original's {label} sibling fails ({a.verdict})")
        if a is not None and label not in pa:
            return (f"the mutant's report warns that its {label} sibling holds ({b.verdict}); the original "
                    f"is already in that stronger form ({a.verdict})")
    return None


class _Original:
    """The original theorem's verdicts and its tightness entries, computed site by site on demand."""

    def __init__(self, thm: S.Theorem, options: Options, cache):
        self.thm, self.options, self.cache = thm, options, cache
        self.sites = {s.key: s for s in T.sites(thm)}
        self.entries: dict = {}

    def entry(self, key: str):
        if key not in self.entries:
            site = self.sites.get(key)
            self.entries[key] = T.analyse_site(self.thm, site, self.options, self.cache) if site else None
        return self.entries[key]


def _flag(orig: _Original, original: list[str], mutant_tree: S.Theorem, m: Mutant, options: Options,
          cache) -> tuple[str, str] | None:
    """("tightness", why) when the mutant's report warns at the mutated site where the original's does not."""
    expected = [c.expect for c in orig.thm.checks]
    if not T.eligible(original, expected) or m.item < 0:
        return None
    mutant_sites = {s.key: s for s in T.sites(mutant_tree)}
    for key in _site_keys(orig.thm, m):
        a = orig.entry(key)
        site_b = mutant_sites.get(key)
        b = T.analyse_site(mutant_tree, site_b, options, cache) if site_b else None
        why = difference(a, b)
        if why:
            where = a or b
            assert where is not None  # a difference needs an entry on one side at least
            return "tightness", f"tightness at {where.location} ({where.kind} `{where.text}`): {why}"
    return None


def mutate_theorem(thm: S.Theorem, file: str, options: Options, per_theorem: int | None,
                   explain_survivors: bool = True, cache=None) -> list[MutantResult]:
    original_text = theorem_to_source(thm)
    try:
        original = statuses_cached(original_text, options, cache)
    except SourceError:
        return []
    orig = _Original(thm, options, cache)
    results = []
    for m in mutants(thm, per_theorem):
        r = MutantResult(thm.id, file, m.description, m.operator, "stillborn", original, source=m.source)
        try:
            mutant_tree = parse_source(m.source, "<mutant>").theorems[0]
            r.mutant = statuses_cached(m.source, options, cache)
        except (SourceError, RecursionError) as err:
            r.explanation = str(err).splitlines()[0] if str(err) else type(err).__name__
            results.append(r)
            continue
        if r.mutant != original:
            r.outcome, r.category = "killed", "verdict"
            r.explanation = f"verdicts {', '.join(original)} -> {', '.join(r.mutant)}"
        elif (flag := _flag(orig, original, mutant_tree, m, options, cache)) is not None:
            r.outcome, (r.category, r.explanation) = "flagged", flag
        else:
            r.outcome = "survived"
            if explain_survivors:
                r.category, r.explanation = explain(thm, mutant_tree, original, options,
                                                    _stronger_sibling(orig, m))
                r.explained = r.category != "unexplained"
        results.append(r)
    return results


def _work(args):
    path, per_theorem, timeout, only, cache_root = args
    text = Path(path).read_text(encoding="utf-8")
    module = parse_source(text, str(path))
    options = Options(timeout=timeout)
    cache = Cache(cache_root) if cache_root else None
    out = []
    for thm in module.theorems:
        if only and thm.id not in only:
            continue
        out += [asdict(r) for r in mutate_theorem(thm, str(path), options, per_theorem, cache=cache)]
    return out


FORMULA = ("kill rate = (killed + flagged) / (mutants - stillborn - equivalent - unchanged statement); "
           "killed: a check's verdict changes; flagged: the verdicts are the same but the mutant's tightness "
           "report warns at the mutated site (a stronger sibling of the mutant holds, or its hypotheses are "
           "vacuous) where the original's probe of that label fails or the original has no probe of that "
           "label (it is already in the stronger form); equivalent: the checker proves original <=> mutant on "
           "the original's checks; unchanged statement: only a check range moved, with the same verdict")


def run_mutation(paths, timeout: float = 2.0, per_theorem: int | None = 8, jobs: int = 1,
                 only: set[str] | None = None, cache_root: str | None = str(DEFAULT_CACHE), progress=None) -> dict:
    """Mutants of every theorem of `paths`, scored; `progress(phase, done, total, text)` hears of
    each statement file as its mutants are decided."""
    started = time.perf_counter()
    files = [str(f) for f in statement_files(list(paths))]
    tasks = [(f, per_theorem, timeout, only, cache_root) for f in files]
    rows: list[dict] = []
    if jobs > 1 and len(tasks) > 1:
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for done, (task, part) in enumerate(zip(tasks, pool.map(_work, tasks)), 1):
                rows += part
                if progress:
                    progress("mutation", done, len(tasks), f"{task[0]}: {len(part)} mutants")
    else:
        for done, t in enumerate(tasks, 1):
            part = _work(t)
            rows += part
            if progress:
                progress("mutation", done, len(tasks), f"{t[0]}: {len(part)} mutants")
    count = lambda outcome, category=None: sum(  # noqa: E731
        r["outcome"] == outcome and (category is None or r["category"] == category) for r in rows)
    killed, flagged, stillborn = count("killed"), count("flagged"), count("stillborn")
    equivalent, unchanged = count("survived", "equivalent"), count("survived", "unchanged statement")
    explained, unexplained = count("survived", "explained"), count("survived", "unexplained")
    denominator = len(rows) - stillborn - equivalent - unchanged
    by_op = {}
    for op in OPERATORS:
        ops = [r for r in rows if r["operator"] == op]
        by_op[op] = {o: sum(r["outcome"] == o for r in ops) for o in ("killed", "flagged", "survived", "stillborn")}
        by_op[op]["mutants"] = len(ops)
        by_op[op]["equivalent"] = sum(r["category"] in ("equivalent", "unchanged statement") for r in ops)
    return {
        "files": files, "timeout": timeout, "per_theorem": per_theorem, "only": sorted(only) if only else None,
        "theorems": len({(r["file"], r["theorem"]) for r in rows}),
        "mutants": len(rows), "stillborn": stillborn, "killed": killed, "flagged": flagged,
        "flagged_by_necessity": count("flagged", "necessity"), "flagged_by_tightness": count("flagged", "tightness"),
        "survived": count("survived"), "survived_equivalent": equivalent, "survived_unchanged_statement": unchanged,
        "survived_explained_other": explained, "survived_unexplained": unexplained,
        "formula": FORMULA, "denominator": denominator,
        "kill_rate": ((killed + flagged) / denominator) if denominator else 1.0,
        "verdict_kill_rate": (killed / (len(rows) - stillborn)) if len(rows) > stillborn else 1.0,
        "target": TARGET,
        "by_operator": by_op,
        "seconds": round(time.perf_counter() - started, 1),
        "survivors": [{k: r[k] for k in ("theorem", "file", "description", "original", "category", "explained",
                                         "explanation")} for r in rows if r["outcome"] == "survived"],
        "flagged_mutants": [{k: r[k] for k in ("theorem", "description", "category", "explanation")}
                            for r in rows if r["outcome"] == "flagged"],
        "stillborn_mutants": [{k: r[k] for k in ("theorem", "description", "explanation")}
                              for r in rows if r["outcome"] == "stillborn"],
    }


def meets_target(summary: dict) -> bool:
    return summary["kill_rate"] >= TARGET and summary["survived_unexplained"] == 0
