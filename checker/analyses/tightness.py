"""Tightness (sharpness) of a decided statement: would a slightly stronger statement still hold?

For a theorem whose checks came out as expected, each *site* of its lets, assumptions and
claims is probed with a sibling statement, decided by the same checks:

| site | probe | reading |
|---|---|---|
| comparison `<=`, `>=` in a claim (positive position) | the strict comparison | *tight*: the strict form is refuted, equality is attained; *slack*: the strict form holds too |
| comparison `<`, `>` in an assumption (negative position) | the non-strict comparison | *tight*: the weaker hypothesis lets the claim fail; *slack*: it suffices |
| comparison under `<=>`, in a let or an `if` | the other strictness | *sensitive* / *insensitive* |
| constant c | c - d and c + d (d = 1 for an integer, 1/10 otherwise: the mutation step) | which of the two neighbours keep the verdict |
| range bound of `forall`, `exists`, `sum`, ... | the bound - 1 and + 1 | as for constants |
| `exists` in a claim, `forall` in an assumption, `or` / `and` likewise | the stronger form | *tight* / *slack* |
| the hypotheses as a whole | the claim replaced by `false` | *satisfiable* (refuted, with a witness re-checked by the evaluator) or *VACUOUS* on the checked range |

A probe's outcome is *holds* (every check proved or verified), *fails* (a check refuted: a
counterexample re-checked by the exact evaluator), *undecided* (a check unknown: a timeout
or an unknown is never read as holding or failing) or *invalid* (the sibling does not
elaborate, or a check cannot run, e.g. a constant moved out of a parameter's domain).

Each site has a stable key (its item and its path in the surface tree), so that the report
of a mutant can be compared site by site with the report of the original (checker.mutation).
"""  # noqa: E501 (the table's rows are markdown table rows, which cannot be wrapped)
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from fractions import Fraction
from typing import Any, TypeGuard

from checker.api import load_text
from checker.decide.engine import Options, run_check
from checker.errors import SourceError
from checker.language import syntax as S
from checker.language.printer import expr_to_source, theorem_to_source
from checker.verdict import Status

_STRICT = {"<=": "<", ">=": ">"}
_NONSTRICT = {"<": "<=", ">": ">="}
_FLIP = {**_STRICT, **_NONSTRICT}
_NEG = {"+": "-", "-": "+", "±": "±"}


@dataclass(frozen=True)
class Site:
    key: str           # "<item>:<path>[#op]", stable under the mutation operators
    kind: str          # comparison | constant | bound | quantifier | connective | vacuity
    item: int          # index in theorem.items (-1 for the whole theorem)
    attr: str          # "body" (let) or "expr" (assume, claim)
    path: tuple        # ((field, index or None), ...) from the item's expression to the node
    polarity: str      # "+" claim side, "-" hypothesis side, "±" both or neither
    section: str       # let | assume | claim | theorem
    text: str
    location: str
    detail: str = ""   # the operator index of a comparison, "lo" / "hi" of a bound


class ProbeOutcome(str, Enum):
    """What deciding a sibling statement gave, read from its checks' `Status`es."""

    HOLDS = "holds"          # every check proved or verified
    FAILS = "fails"          # a check refuted: a counterexample re-checked by the exact evaluator
    UNDECIDED = "undecided"  # a check unknown: never read as holding or failing
    INVALID = "invalid"      # the sibling does not elaborate, or a check cannot run


class Reading(str, Enum):
    """What a site's probes say (the table of the module's docstring)."""

    TIGHT = "tight"
    SLACK = "slack"
    SENSITIVE = "sensitive"
    INSENSITIVE = "insensitive"
    SATISFIABLE = "satisfiable"
    VACUOUS = "VACUOUS"
    UNDECIDED = "undecided"
    INVALID = "invalid"
    STRICT = "strict"            # already in the stronger form: nothing to probe
    NONSTRICT = "non-strict"
    FORALL = "forall"
    EXISTS = "exists"
    AND = "and"
    OR = "or"
    NEIGHBOURS = "neighbours"    # a constant or bound: one outcome per neighbour, in `probes`
    NONE = ""                    # not probed

    @property
    def warns(self) -> bool:
        """The readings a report points out: a stronger sibling holds, or nothing is probed."""
        return self in (Reading.SLACK, Reading.VACUOUS, Reading.UNDECIDED, Reading.INSENSITIVE)


@dataclass
class Entry:
    key: str
    kind: str
    section: str
    location: str
    text: str
    reading: Reading = Reading.NONE
    verdict: str = ""                            # the reading as a sentence, for reports
    probes: list[dict] = field(default_factory=list)  # {"label", "sibling", "statuses", "outcome"}

    def signature(self) -> tuple:
        """What a reader of the report learns at this site, without the site's own text."""
        return tuple((p["label"], p["outcome"]) for p in self.probes) or (self.reading.value,)

    def to_json(self) -> dict:
        return {"key": self.key, "kind": self.kind, "section": self.section, "location": self.location,
                "text": self.text, "reading": self.reading.value, "verdict": self.verdict, "probes": self.probes}


# ---- paths in the surface tree ----------------------------------------------------------

def _loc(node) -> str:
    span = getattr(node, "span", None)
    return f"{span.line}:{span.column}" if span is not None and bool(getattr(span, "line", 0)) else "?"


def path_text(path: tuple) -> str:
    return "/".join(name if i is None else f"{name}{i}" for name, i in path) or "."


def node_at(e: S.Expr, path: tuple) -> S.Expr:
    node: Any = e  # an expression, or on the way a tuple of them
    for name, i in path:
        node = getattr(node, name)
        if i is not None:
            node = node[i]
    return node


def replace_at(e: S.Expr, path: tuple, new: S.Expr) -> S.Expr:
    if not path:
        return new
    (name, i), rest = path[0], path[1:]
    value = getattr(e, name)
    if i is None:
        return replace(e, **{name: replace_at(value, rest, new)})
    return replace(e, **{name: value[:i] + (replace_at(value[i], rest, new),) + value[i + 1:]})


def is_fraction_literal(e: S.Expr) -> TypeGuard[S.Binary]:
    return (isinstance(e, S.Binary) and e.op == "/" and isinstance(e.left, S.Num)
            and isinstance(e.right, S.Num) and e.right.value != 0)


def constant_value(e: S.Expr) -> Fraction | None:
    if isinstance(e, S.Num):
        return e.value
    if is_fraction_literal(e):
        assert isinstance(e.left, S.Num) and isinstance(e.right, S.Num)  # as is_fraction_literal checked
        return e.left.value / e.right.value
    return None


def const(value: Fraction) -> S.Expr:
    value = Fraction(value)
    return S.Neg(S.Num(-value)) if value < 0 else S.Num(value)


def children(e: S.Expr, polarity: str):
    """(path step, child, the child's polarity) for each direct sub-expression."""
    for f in fields(e):
        if f.name == "span":
            continue
        value = getattr(e, f.name)
        items: list[tuple[tuple[str, int | None], S.Expr]]
        if isinstance(value, S.Expr):
            items = [((f.name, None), value)]
        elif isinstance(value, tuple) and value and all(isinstance(v, S.Expr) for v in value):
            items = [((f.name, i), v) for i, v in enumerate(value)]
        else:
            continue
        for step, child in items:
            if isinstance(e, S.Binary) and e.op in ("and", "or"):
                p = polarity
            elif isinstance(e, S.Binary) and e.op == "=>":
                p = _NEG[polarity] if step[0] == "left" else polarity
            elif isinstance(e, S.Not):
                p = _NEG[polarity]
            elif isinstance(e, (S.RangeQuant, S.FunQuant)) and step[0] == "body":
                p = polarity
            elif isinstance(e, S.Ite) and step[0] in ("then", "other"):
                p = polarity
            else:
                p = "±"
            yield step, child, p


def sites(thm: S.Theorem) -> list[Site]:
    out: list[Site] = []
    for k, item in enumerate(thm.items):
        if isinstance(item, S.Let):
            section, attr, polarity = "let", "body", "±"
        elif isinstance(item, S.Assume):
            section, attr, polarity = "assume", "expr", "-"
        elif isinstance(item, S.Claim):
            section, attr, polarity = "claim", "expr", "+"
        else:
            continue
        _collect(getattr(item, attr), (), polarity, k, attr, section, out)
    if thm.assumptions:
        out.append(Site("theorem:vacuity", "vacuity", -1, "", (), "-", "theorem", "the hypotheses", _loc(thm)))
    return out


def _collect(e, path, polarity, k, attr, section, out):
    key = f"{k}:{path_text(path)}"
    text = expr_to_source(e)
    loc = _loc(e)
    if constant_value(e) is not None:
        out.append(Site(key, "constant", k, attr, path, polarity, section, text, loc))
        return  # a fraction literal is one constant
    if isinstance(e, S.Compare):
        for i, op in enumerate(e.ops):
            if op in _FLIP:
                out.append(Site(f"{key}#{i}", "comparison", k, attr, path, polarity, section,
                                f"{expr_to_source(e.operands[i], 6)} {op} {expr_to_source(e.operands[i + 1], 6)}",
                                loc, str(i)))
    elif isinstance(e, (S.RangeQuant, S.FunQuant)):
        out.append(Site(f"{key}#kind", "quantifier", k, attr, path, polarity, section, text, loc))
    elif isinstance(e, S.Binary) and e.op in ("and", "or"):
        out.append(Site(f"{key}#op", "connective", k, attr, path, polarity, section, text, loc))
    if isinstance(e, (S.RangeQuant, S.Indexed)):
        for bound in ("lo", "hi"):
            out.append(Site(f"{key}#{bound}", "bound", k, attr, path, "±", section,
                            f"{e.var} in {expr_to_source(e.lo)}..{expr_to_source(e.hi)} ({bound})", loc, bound))
    for step, child, p in children(e, polarity):
        _collect(child, path + (step,), p, k, attr, section, out)


# ---- probes -------------------------------------------------------------------------------

def _with_item(thm: S.Theorem, k: int, item) -> S.Theorem:
    items = thm.items[:k] + (item,) + thm.items[k + 1:]
    return S.rebuild(thm, items)




def _edit(thm: S.Theorem, site: Site, new_node: S.Expr) -> S.Theorem:
    item = thm.items[site.item]
    whole = replace_at(getattr(item, site.attr), site.path, new_node)
    return _with_item(thm, site.item, replace(item, **{site.attr: whole}))


def probes(thm: S.Theorem, site: Site) -> tuple[str, list[tuple[str, S.Theorem]]]:
    """(verdict when there is nothing to probe, [(label, sibling theorem)])."""
    if site.kind == "vacuity":
        items = tuple(i for i in thm.items if not isinstance(i, (S.Claim, S.Witness)))
        first_check = next((k for k, i in enumerate(items) if isinstance(i, S.Check)), len(items))
        items = items[:first_check] + (S.Claim(S.BoolLit(False)),) + items[first_check:]
        return "", [("claim false", S.rebuild(thm, items))]
    node = node_at(getattr(thm.items[site.item], site.attr), site.path)
    if site.kind == "constant":
        c = constant_value(node)
        assert c is not None  # constant sites are where constant_value reads a number
        d = Fraction(1) if c.denominator == 1 else Fraction(1, 10)
        return "", [("-step", _edit(thm, site, const(c - d))), ("+step", _edit(thm, site, const(c + d)))]
    if site.kind == "bound":
        b = getattr(node, site.detail)
        out = []
        for label, k in (("-1", -1), ("+1", 1)):
            c = constant_value(b)
            nb = const(c + k) if c is not None else S.Binary("+" if k > 0 else "-", b, S.Num(Fraction(1)))
            out.append((f"{site.detail}{label}", _edit(thm, site, replace(node, **{site.detail: nb}))))
        return "", out
    if site.kind == "comparison":
        assert isinstance(node, S.Compare)  # as `sites` found it
        i = int(site.detail)
        op = node.ops[i]
        flipped = replace(node, ops=node.ops[:i] + (_FLIP[op],) + node.ops[i + 1:])
        if site.polarity == "+" and op in _NONSTRICT:
            return "strict", []
        if site.polarity == "-" and op in _STRICT:
            return "non-strict", []
        label = {"+": "strict", "-": "non-strict", "±": "flipped"}[site.polarity]
        return "", [(label, _edit(thm, site, flipped))]
    if site.kind == "quantifier":
        assert isinstance(node, (S.RangeQuant, S.FunQuant))  # as `sites` found it
        other = "exists" if node.kind == "forall" else "forall"
        if site.polarity == "+" and node.kind == "forall" or site.polarity == "-" and node.kind == "exists":
            return node.kind, []
        return "", [(other, _edit(thm, site, replace(node, kind=other)))]
    if site.kind == "connective":
        assert isinstance(node, S.Binary)  # as `sites` found it
        other = "and" if node.op == "or" else "or"
        if site.polarity == "+" and node.op == "and" or site.polarity == "-" and node.op == "or":
            return node.op, []
        return "", [(other, _edit(thm, site, replace(node, op=other)))]
    raise ValueError(site.kind)


def statuses_of(text: str, options: Options) -> list[Status]:
    (core,) = load_text(text, "<sibling>")
    return [run_check(core, check, options).status for check in core.checks]


def outcome(statuses: list[Status]) -> ProbeOutcome:
    statuses = [Status(s) for s in statuses]
    if Status.ERROR in statuses:
        return ProbeOutcome.INVALID
    if Status.REFUTED in statuses:
        return ProbeOutcome.FAILS
    if all(s.holds for s in statuses):
        return ProbeOutcome.HOLDS
    return ProbeOutcome.UNDECIDED


_R = Reading
_READING = {
    ("comparison", "+"): {"fails": (_R.TIGHT, "the strict form is refuted (equality is attained)"),
                          "holds": (_R.SLACK, "the strict form holds too")},
    ("comparison", "-"): {"fails": (_R.TIGHT, "with the non-strict hypothesis the claim fails"),
                          "holds": (_R.SLACK, "the non-strict hypothesis suffices")},
    ("comparison", "±"): {"fails": (_R.SENSITIVE, "the other strictness is refuted"),
                          "holds": (_R.INSENSITIVE, "the other strictness holds too")},
    ("quantifier", "+"): {"fails": (_R.TIGHT, "the forall form is refuted"),
                          "holds": (_R.SLACK, "the forall form holds too")},
    ("quantifier", "±"): {"fails": (_R.SENSITIVE, "the other quantifier is refuted"),
                          "holds": (_R.INSENSITIVE, "the other quantifier holds too")},
    ("connective", "±"): {"fails": (_R.SENSITIVE, "the other connective is refuted"),
                          "holds": (_R.INSENSITIVE, "the other connective holds too")},
    ("quantifier", "-"): {"fails": (_R.TIGHT, "with the exists hypothesis the claim fails"),
                          "holds": (_R.SLACK, "the exists hypothesis suffices")},
    ("connective", "+"): {"fails": (_R.TIGHT, "the and form is refuted"),
                          "holds": (_R.SLACK, "the and form holds too")},
    ("connective", "-"): {"fails": (_R.TIGHT, "with the or hypothesis the claim fails"),
                          "holds": (_R.SLACK, "the or hypothesis suffices")},
    ("vacuity", "-"): {"fails": (_R.SATISFIABLE, "some value meets every hypothesis on the checked range"),
                       "holds": (_R.VACUOUS, "no value meets the hypotheses on the checked range")},
}
_STATIC = {"strict": _R.STRICT, "non-strict": _R.NONSTRICT, "forall": _R.FORALL, "exists": _R.EXISTS,
           "and": _R.AND, "or": _R.OR, "": _R.NONE}


def _reading(site: Site, results: list[tuple[str, ProbeOutcome]]) -> tuple[Reading, str]:
    if len(results) == 1:
        o = results[0][1]
        if o in (ProbeOutcome.UNDECIDED, ProbeOutcome.INVALID):
            return Reading(o.value), o.value
        table = _READING.get((site.kind, site.polarity), _READING.get((site.kind, "±"), {}))
        reading, text = table[o.value]
        return reading, f"{reading.value}: {text}"
    return Reading.NEIGHBOURS, ", ".join(f"{label}: {o.value}" for label, o in results)


def analyse_site(thm: S.Theorem, site: Site, options: Options, cache=None, retry_undecided: bool = True) -> Entry:
    static, siblings = probes(thm, site)
    entry = Entry(site.key, site.kind, site.section, site.location, site.text, _STATIC[static], static)
    results = []
    for label, sibling in siblings:
        text = theorem_to_source(sibling)
        statuses = cached_statuses(text, options, cache, retry_undecided)
        o = outcome(statuses)
        entry.probes.append({"label": label, "sibling": _sibling_text(sibling, site),
                             "statuses": [s.value for s in statuses], "outcome": o.value})
        results.append((label, o))
    if results:
        entry.reading, entry.verdict = _reading(site, results)
    return entry


def stopped_site(thm: S.Theorem, site: Site, reason: str) -> Entry:
    """The entry of a site whose probes were stopped before they ended (past their memory or
    time): every probe undecided, with the reason, never read as holding or failing."""
    static, siblings = probes(thm, site)
    entry = Entry(site.key, site.kind, site.section, site.location, site.text, _STATIC[static], static)
    results = []
    for label, sibling in siblings:
        entry.probes.append({"label": label, "sibling": _sibling_text(sibling, site),
                             "statuses": [Status.UNKNOWN.value], "outcome": ProbeOutcome.UNDECIDED.value,
                             "reason": reason})
        results.append((label, ProbeOutcome.UNDECIDED))
    if results:
        entry.reading, entry.verdict = _reading(site, results)
    return entry


def _sibling_text(sibling: S.Theorem, site: Site) -> str:
    if site.kind == "vacuity":
        return "claim false"
    return expr_to_source(node_at(getattr(sibling.items[site.item], site.attr), site.path))


def cached_statuses(text: str, options: Options, cache, retry_undecided: bool = True) -> list[Status]:
    """The sibling's statuses, from the cache when it holds them decided. An unknown is never
    kept as an answer: it is noted apart, and with `retry_undecided` False a sibling an earlier
    run left unknown at this limit keeps that unknown instead of being decided again."""
    opts = {"timeout": options.timeout}
    if cache is not None:
        hit = cache.get("statuses", text, opts)
        if isinstance(hit, list) and all(s in _STATUS_WORDS for s in hit) and "unknown" not in hit:
            return [Status(s) for s in hit]
        earlier = None if retry_undecided else cache.peek("statuses-unknown", text, opts)
        if isinstance(earlier, list) and earlier and all(s in _STATUS_WORDS for s in earlier):
            return [Status(s) for s in earlier]
    try:
        statuses = statuses_of(text, replace(options, build_dir=None))
    except (SourceError, RecursionError):
        statuses = [Status.ERROR]
    if cache is not None and Status.UNKNOWN not in statuses:
        cache.put("statuses", text, [s.value for s in statuses], opts)
    elif cache is not None:
        # An unknown (a time limit, a loaded machine) is never kept as the answer: it is noted
        # apart, for a run that chooses not to spend the limit on it again.
        cache.put("statuses-unknown", text, [s.value for s in statuses], opts)
    return statuses


_STATUS_WORDS = {s.value for s in Status}


REPORTED_KINDS = ("comparison", "quantifier", "connective", "vacuity")
DEFAULT_TIMEOUT = 2.0


def reported(site: Site) -> bool:
    """The sites `verify --tightness` reports: the comparisons, quantifiers and connectives of
    claims and assumptions, and vacuity. `--tightness-all` adds lets, constants and range bounds."""
    return site.kind in REPORTED_KINDS and site.section != "let"


def chosen_sites(thm: S.Theorem, only=None, everything: bool = False) -> list[Site]:
    """The reported sites of `thm` (all sites with `everything`; or those whose key is in `only`)."""
    return [s for s in sites(thm) if (s.key in only if only is not None else everything or reported(s))]


def analyse(thm: S.Theorem, options: Options, cache=None, only=None, everything: bool = False) -> list[Entry]:
    """Entries for the reported sites of `thm` (all sites with `everything`; or those whose key is in `only`)."""
    return [analyse_site(thm, s, options, cache) for s in chosen_sites(thm, only, everything)]


def eligible(statuses: Sequence[str], expected: Sequence[str]) -> bool:
    """Tightness is read on statements whose checks are decided and as expected."""
    return list(statuses) == list(expected) and all(Status(s).decided for s in statuses)


def report_lines(entries: list[Entry]) -> list[str]:
    return [f"{e.location} {e.kind} `{e.text}`: {e.verdict}" for e in entries]


def dumps(entries: list[Entry]) -> str:
    return json.dumps([e.to_json() for e in entries], indent=2)
