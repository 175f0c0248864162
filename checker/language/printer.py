"""Print surface trees back to source text, with only the parentheses that are needed.

`parse(to_source(tree)) == tree` for every tree the parser produces; the property tests
generate statements from the grammar and check exactly that.
"""
from __future__ import annotations

from checker.language import syntax as S

# Binding strength, loosest first; mirrors the expression rules of the grammar.
QUANT, IFF, IMPLIES, OR, AND, NOT, CMP, ADD, MUL, UNARY, POWER, ATOM = range(12)

_BINARY_LEVEL = {"<=>": IFF, "=>": IMPLIES, "or": OR, "and": AND,
                 "+": ADD, "-": ADD, "*": MUL, "/": MUL, "^": POWER}


def expr_to_source(e: S.Expr, level: int = QUANT) -> str:
    text, own = _expr(e)
    return f"({text})" if own < level else text


def _expr(e: S.Expr) -> tuple[str, int]:
    if isinstance(e, S.Num):
        return (e.text or _fraction_text(e.value)), (ATOM if e.text or e.value.denominator == 1 else MUL)
    if isinstance(e, S.BoolLit):
        return ("true" if e.value else "false"), ATOM
    if isinstance(e, S.Inf):
        return "inf", ATOM
    if isinstance(e, S.Name):
        return e.id, ATOM
    if isinstance(e, S.Call):
        return f"{e.fn}({', '.join(expr_to_source(a) for a in e.args)})", ATOM
    if isinstance(e, S.Neg):
        return "-" + expr_to_source(e.arg, UNARY), UNARY
    if isinstance(e, S.Not):
        return "not " + expr_to_source(e.arg, NOT), NOT
    if isinstance(e, S.Binary):
        level = _BINARY_LEVEL[e.op]
        if e.op == "^":
            return f"{expr_to_source(e.left, ATOM)} ^ {expr_to_source(e.right, UNARY)}", POWER
        if e.op == "=>":  # right associative
            return f"{expr_to_source(e.left, OR)} => {expr_to_source(e.right, IMPLIES)}", IMPLIES
        if e.op == "<=>":  # not associative
            return f"{expr_to_source(e.left, IMPLIES)} <=> {expr_to_source(e.right, IMPLIES)}", IFF
        return f"{expr_to_source(e.left, level)} {e.op} {expr_to_source(e.right, level + 1)}", level
    if isinstance(e, S.Compare):
        parts = [expr_to_source(e.operands[0], ADD)]
        for op, operand in zip(e.ops, e.operands[1:]):
            parts += [op, expr_to_source(operand, ADD)]
        return " ".join(parts), CMP
    if isinstance(e, S.Ite):
        # The else branch extends as far right as it can, so as an operand it needs parentheses.
        return (f"if {expr_to_source(e.cond)} then {expr_to_source(e.then)} "
                f"else {expr_to_source(e.other)}"), QUANT
    if isinstance(e, S.Indexed):
        return (f"{e.op}({e.var} in {expr_to_source(e.lo)}..{expr_to_source(e.hi)}, "
                f"{expr_to_source(e.body)})"), ATOM
    if isinstance(e, S.Limit):
        return f"limit({e.var} -> {expr_to_source(e.point, ADD)}, {expr_to_source(e.body)})", ATOM
    if isinstance(e, S.RangeQuant):
        return (f"{e.kind} {e.var} in {expr_to_source(e.lo)}..{expr_to_source(e.hi)} : "
                f"{expr_to_source(e.body)}"), QUANT
    if isinstance(e, S.FunQuant):
        return f"{e.kind} {e.var} : {type_to_source(e.ftype)} : {expr_to_source(e.body)}", QUANT
    raise TypeError(f"cannot print {type(e).__name__}")


def _decimal_text(value) -> str:
    """A Fraction read from a decimal literal, printed back exactly."""
    if value.denominator == 1:
        return str(value.numerator)
    digits = 0
    scaled = value
    while scaled.denominator != 1:
        scaled *= 10
        digits += 1
        if digits > 400:
            raise ValueError(f"{value} has no finite decimal expansion")
    text = str(abs(scaled.numerator)).rjust(digits + 1, "0")
    return ("-" if value < 0 else "") + text[:-digits] + "." + text[-digits:]


def _fraction_text(value) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def type_to_source(t) -> str:
    if isinstance(t, S.FunType):
        domains = " * ".join(_index_set(d) for d in t.domains)
        codomain = t.codomain if isinstance(t.codomain, str) else _index_set(t.codomain)
        return f"{domains} -> {codomain}"
    text = t.base
    if isinstance(t.domain, S.Interval):
        d = t.domain
        text += (f" in {'[' if d.lo_closed else '('}{expr_to_source(d.lo)}, "
                 f"{expr_to_source(d.hi)}{']' if d.hi_closed else ')'}")
    elif isinstance(t.domain, S.SetDomain):
        text += " in {" + ", ".join(expr_to_source(v) for v in t.domain.values) + "}"
    return text


def _index_set(d: S.IndexSet) -> str:
    return f"[{expr_to_source(d.lo)}..{expr_to_source(d.hi)}]"


def _binding(b: S.Binding) -> str:
    if b.kind == "range":
        return f"{b.name} in {expr_to_source(b.values[0])}..{expr_to_source(b.values[1])}"
    if b.kind == "set":
        return f"{b.name} in {{{', '.join(expr_to_source(v) for v in b.values)}}}"
    if b.kind == "table":
        entries = ", ".join(f"({', '.join(expr_to_source(a) for a in args)}): {expr_to_source(v)}"
                            for args, v in b.table)
        return f"{b.name} = {{{entries}}}"
    return f"{b.name} = {expr_to_source(b.values[0])}"


def item_to_source(item) -> str:
    if isinstance(item, tuple) and item[0] == "uses":
        return "uses " + ", ".join(name for name, _ in item[1])
    if isinstance(item, tuple) and item[0] in ("ref", "trust", "note"):
        return f'{item[0]} "{item[1]}"'
    if isinstance(item, S.Param):
        return f"param {item.name} : {type_to_source(item.type)}"
    if isinstance(item, S.Let):
        formals = f"({', '.join(item.formals)})" if item.formals else ""
        return f"let {item.name}{formals} = {expr_to_source(item.body)}"
    if isinstance(item, S.Assume):
        label = f"{item.label}: " if item.label else ""
        return f"assume {label}{expr_to_source(item.expr)}"
    if isinstance(item, S.Claim):
        return f"claim {expr_to_source(item.expr)}"
    if isinstance(item, S.Witness):
        return f"witness {item.name}({', '.join(item.formals)}) = {expr_to_source(item.body)}"
    if isinstance(item, S.Check):
        parts = ["check", item.kind]
        if item.bindings:
            parts.append(", ".join(_binding(b) for b in item.bindings))
        if item.timeout is not None:
            parts.append(f"timeout {_decimal_text(item.timeout)}")
        parts += ["expect", item.expect]
        return " ".join(parts)
    raise TypeError(f"cannot print item {item!r}")


def theorem_to_source(t: S.Theorem) -> str:
    lines = [f'theorem {t.id} "{t.title}" {{']
    lines += ["  " + item_to_source(item) for item in t.items]
    lines.append("}")
    return "\n".join(lines)


def module_to_source(theorems) -> str:
    return "\n\n".join(theorem_to_source(t) for t in theorems) + "\n"
