"""A numeric interpretation of the core on numpy arrays, for evaluating statements in bulk.

Probes evaluate the statements of `proofs/` at thousands of measured points (every head and
sample of a sweep). The exact evaluator is right but slow for that; this backend compiles the
same core terms into numpy operations on float64 arrays, so one call evaluates a claim at every
point at once. It is an approximation by construction (floating point), used only to confront
measurements, never to prove anything; the tests cross-check it against the exact evaluator
operator by operator and on sampled points.

Undefined values (division by 0, ln of a non-positive number, ...) become NaN, and a comparison
with NaN is false, matching the statement language where an undefined claim does not hold.
Binders run over the widest range their bounds take at any point, masking each point's
values outside its own range, so bounds may differ between points and depend on outer binders.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from checker.language import core as C

Array = Any  # numpy.ndarray; numpy is imported on first use (the checker itself does not need it)


def _np():
    import numpy
    return numpy


class NumericError(C.Unsupported):
    """A construct the numeric backend does not evaluate (quantifiers over functions, limits)."""


class Numeric:
    """Evaluates core terms on arrays. `values` maps scalar names to arrays (broadcastable to
    one shape) or numbers; `functions` maps function names to arrays indexed by the function's
    arguments (argument lo..hi at index 0..hi-lo along the last axes) or to callables."""

    def __init__(self, values: dict[str, Any], functions: dict[str, Any] | None = None,
                 offsets: dict[str, tuple[int, ...]] | None = None):
        np = _np()
        self.np = np
        self.values = {k: (np.asarray(v, dtype=float) if not isinstance(v, bool) else np.asarray(v))
                       for k, v in values.items()}
        self.functions = functions or {}
        self.offsets = offsets or {}

    def __call__(self, t: C.Term) -> Array:
        np = self.np
        with np.errstate(all="ignore"):
            return self.ev(t, self.values)

    # ---- terms
    def ev(self, t: C.Term, env: dict) -> Array:
        np = self.np
        if isinstance(t, C.Const):
            return np.asarray(t.value) if isinstance(t.value, bool) else np.asarray(float(t.value))
        if isinstance(t, C.Var):
            if t.name not in env:
                raise NumericError(f"no value for '{t.display}'")
            return env[t.name]
        if isinstance(t, C.Op):
            return getattr(self, "op_" + t.op)(t, env)
        if isinstance(t, C.App):
            return self.app(t, env)
        if isinstance(t, C.Bind):
            return self.bind(t, env)
        raise NumericError(f"the numeric backend does not evaluate {type(t).__name__}")

    # Shapes: the points of a call run along the leading axes of every array; each binder that
    # is entered adds one trailing axis for its variable. Arrays from outer contexts have fewer
    # axes and are padded on the right, so axes always line up from the front.
    def app(self, t: C.App, env: dict) -> Array:
        np = self.np
        fn = self.functions.get(t.fn)
        if fn is None:
            raise NumericError(f"no value for function '{t.fn}'")
        args = [np.asarray(self.ev(a, env)) for a in t.args]
        if callable(fn):
            return np.asarray(fn(*args), dtype=float)
        table = np.asarray(fn, dtype=float)
        k = len(args)
        offsets = self.offsets.get(t.fn, (1,) * k)
        lead = table.ndim - k
        sizes = table.shape[lead:]
        rank = max([lead] + [a.ndim for a in args])
        index = [_pad(np.rint(a).astype(int) - o, rank) for a, o in zip(args, offsets)]
        inside = np.ones((), dtype=bool)
        for i, n in zip(index, sizes):
            inside = inside & (i >= 0) & (i < n)
        clipped = [np.clip(i, 0, n - 1) for i, n in zip(index, sizes)]
        grid = [_pad(g, rank) for g in np.indices(table.shape[:lead], sparse=True)] if lead else []
        picked = table[tuple(grid) + tuple(clipped)]
        return np.where(inside, picked, np.nan)

    def bind(self, t: C.Bind, env: dict) -> Array:
        """The bound variable runs over min(lo)..max(hi) along a new trailing axis; where the
        bounds differ between points (or with an outer binder), the values outside a point's
        own range are masked out (0 for a sum, 1 for a product, ignored by max and min)."""
        np = self.np
        lo_v, hi_v = (np.asarray(self.ev(x, env), dtype=float) for x in (t.lo, t.hi))
        if not (np.all(np.isfinite(lo_v)) and np.all(np.isfinite(hi_v))) \
                or np.any(np.floor(lo_v) != lo_v) or np.any(np.floor(hi_v) != hi_v):
            raise NumericError(f"the bounds of {t.op} over {t.var.display} are not integers everywhere")
        first, last = int(lo_v.min()), int(hi_v.max())
        rank = max([np.ndim(v) for v in env.values()] + [lo_v.ndim, hi_v.ndim, 0])
        inner = {k: _pad(np.asarray(v), rank)[..., None] for k, v in env.items()}
        j = np.arange(first, last + 1, dtype=float).reshape((1,) * rank + (-1,))
        mask = (j >= _pad(lo_v, rank)[..., None]) & (j <= _pad(hi_v, rank)[..., None])
        body = np.asarray(self.ev(t.body, {**inner, t.var.name: j}))
        shape = np.broadcast_shapes(_pad(body, rank + 1).shape, mask.shape)
        body, mask = np.broadcast_to(_pad(body, rank + 1), shape), np.broadcast_to(mask, shape)
        if t.op == "forall":
            return np.where(mask, body.astype(bool), True).all(axis=-1)
        if t.op == "exists":
            return np.where(mask, body.astype(bool), False).any(axis=-1)
        if t.op == "sum":
            return np.where(mask, body, 0.0).sum(axis=-1)
        if t.op == "prod":
            return np.where(mask, body, 1.0).prod(axis=-1)
        empty = ~mask.any(axis=-1)
        if t.op == "max":
            out = np.where(mask, body, -np.inf).max(axis=-1)
        else:
            out = np.where(mask, body, np.inf).min(axis=-1)
        return np.where(empty, np.nan, out)

    # ---- arithmetic
    def op_add(self, t, env):
        out = self.ev(t.args[0], env)
        for a in t.args[1:]:
            out = out + self.ev(a, env)
        return out

    def op_mul(self, t, env):
        out = self.ev(t.args[0], env)
        for a in t.args[1:]:
            out = out * self.ev(a, env)
        return out

    def op_neg(self, t, env):
        return -self.ev(t.args[0], env)

    def op_div(self, t, env):
        np = self.np
        a, b = self.ev(t.args[0], env), self.ev(t.args[1], env)
        return np.where(b == 0, np.nan, a / np.where(b == 0, 1.0, b))

    def op_pow(self, t, env):
        np = self.np
        base, e = self.ev(t.args[0], env), self.ev(t.args[1], env)
        integral = np.floor(e) == e
        defined = np.where(integral, ~((base == 0) & (e < 0)), (base > 0) | ((base == 0) & (e > 0)))
        safe_base = np.where(defined, base, 1.0)
        out = np.where(integral, np.power(safe_base, np.where(defined, e, 1.0)),
                       np.power(np.abs(safe_base), np.where(defined, e, 1.0)))
        return np.where(defined, out, np.nan)

    def op_exp(self, t, env):
        return self.np.exp(self.ev(t.args[0], env))

    def op_ln(self, t, env):
        np = self.np
        v = self.ev(t.args[0], env)
        return np.where(v > 0, np.log(np.where(v > 0, v, 1.0)), np.nan)

    def op_sqrt(self, t, env):
        np = self.np
        v = self.ev(t.args[0], env)
        return np.where(v >= 0, np.sqrt(np.where(v >= 0, v, 0.0)), np.nan)

    def op_abs(self, t, env):
        return self.np.abs(self.ev(t.args[0], env))

    def op_cos(self, t, env):
        return self.np.cos(self.ev(t.args[0], env))

    def op_sin(self, t, env):
        return self.np.sin(self.ev(t.args[0], env))

    def op_floor(self, t, env):
        return self.np.floor(self.ev(t.args[0], env))

    def op_ceil(self, t, env):
        return self.np.ceil(self.ev(t.args[0], env))

    def op_binom(self, t, env):
        np = self.np
        n, k = np.broadcast_arrays(self.ev(t.args[0], env), self.ev(t.args[1], env))

        def one(a: float, b: float) -> float:
            if a < 0 or a != math.floor(a) or b != math.floor(b):
                return math.nan
            return float(math.comb(int(a), int(b))) if 0 <= b <= a else 0.0
        return np.vectorize(one, otypes=[float])(n, k)

    def op_min(self, t, env):
        np = self.np
        return np.minimum.reduce(np.broadcast_arrays(*[self.ev(a, env) for a in t.args]))

    def op_max(self, t, env):
        np = self.np
        return np.maximum.reduce(np.broadcast_arrays(*[self.ev(a, env) for a in t.args]))

    # ---- logic (NaN compares false: an undefined side makes the comparison fail)
    def op_lt(self, t, env):
        return self.ev(t.args[0], env) < self.ev(t.args[1], env)

    def op_le(self, t, env):
        return self.ev(t.args[0], env) <= self.ev(t.args[1], env)

    def op_eq(self, t, env):
        return self.ev(t.args[0], env) == self.ev(t.args[1], env)

    def op_not(self, t, env):
        return ~self.np.asarray(self.ev(t.args[0], env), dtype=bool)

    def op_and(self, t, env):
        np = self.np
        out = np.asarray(True)
        for a in t.args:
            out = out & np.asarray(self.ev(a, env), dtype=bool)
        return out

    def op_or(self, t, env):
        np = self.np
        out = np.asarray(False)
        for a in t.args:
            out = out | np.asarray(self.ev(a, env), dtype=bool)
        return out

    def op_implies(self, t, env):
        np = self.np
        return ~np.asarray(self.ev(t.args[0], env), dtype=bool) | np.asarray(self.ev(t.args[1], env), dtype=bool)

    def op_iff(self, t, env):
        np = self.np
        return np.asarray(self.ev(t.args[0], env), dtype=bool) == np.asarray(self.ev(t.args[1], env), dtype=bool)

    def op_ite(self, t, env):
        np = self.np
        return np.where(np.asarray(self.ev(t.args[0], env), dtype=bool), self.ev(t.args[1], env),
                        self.ev(t.args[2], env))


def _pad(a, rank: int):
    """`a` with trailing axes of length 1 up to `rank` axes (points first, binders last)."""
    return a.reshape(a.shape + (1,) * (rank - a.ndim)) if a.ndim < rank else a


def margin(t: C.Term) -> tuple[C.Term, C.Term, str] | None:
    """For a comparison atom `a op b`: (a, b, op), where b - a is the claim's margin."""
    if isinstance(t, C.Op) and t.op in C.COMPARISONS:
        return t.args[0], t.args[1], t.op
    return None


def as_float(v) -> float:
    if isinstance(v, Fraction):
        return float(v)
    return float(v)


Evaluator = Callable[[C.Term], Array]
