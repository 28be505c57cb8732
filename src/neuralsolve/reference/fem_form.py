"""The equation and the conditions a finite-element solve takes: a residual read as a linear
second-order operator (:class:`EllipticForm`), its weak-form coefficients, and the conditions
per boundary part checked and made functions (:mod:`.fem`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from .._errors import ProblemError
from ..geometry.outline import Outline

# the coefficients of EllipticForm, in this order: u_xx, u_xy, u_yy, u_x, u_y, u
TERMS = ("uxx", "uxy", "uyy", "ux", "uy", "u")
# (x-order, y-order) of each term's derivative
_ORDERS = {"uxx": (2, 0), "uxy": (1, 1), "uyy": (0, 2), "ux": (1, 0), "uy": (0, 1), "u": (0, 0)}
# lambdify's modules for the coefficients and data: SciPy first, for the functions NumPy lacks (erf)
LAMBDIFY_MODULES = ["scipy", "numpy"]


@dataclass(frozen=True)
class EllipticForm:
    """A linear second-order equation ``L u = source`` in two coordinates, in non-divergence form.

    ``L u = uxx·u_xx + uxy·u_xy + uyy·u_yy + ux·u_x + uy·u_y + u·u``; every coefficient and the
    source is a SymPy expression in the coordinate symbols (``Symbol(name, real=True)``), possibly
    a constant.
    """

    field: str
    coords: tuple[str, str]
    uxx: sp.Expr
    uxy: sp.Expr
    uyy: sp.Expr
    ux: sp.Expr
    uy: sp.Expr
    u: sp.Expr
    source: sp.Expr

    @property
    def symbols(self) -> tuple[sp.Symbol, sp.Symbol]:
        """The coordinate symbols the coefficients are written in."""
        return tuple(sp.Symbol(c, real=True) for c in self.coords)

    def diffusion(self) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
        """``(A_xx, A_xy, A_yy)`` of the symmetric matrix with ``Σ a_ij u_ij = A : Hess u``."""
        # u_xy = u_yx: the mixed coefficient is shared equally by both off-diagonal entries
        return self.uxx, self.uxy / 2, self.uyy

    def drift(self) -> tuple[sp.Expr, sp.Expr]:
        """``b - div A``: the first-order coefficients once ``A : Hess u`` is ``div(A grad u) - (div A)·grad u``."""
        x, y = self.symbols
        axx, axy, ayy = self.diffusion()
        return self.ux - sp.diff(axx, x) - sp.diff(axy, y), self.uy - sp.diff(axy, x) - sp.diff(ayy, y)


def elliptic_form(expr, field: str, coords: tuple[str, str]) -> EllipticForm | None:
    """The :class:`EllipticForm` of the residual ``expr`` (SymPy; the equation as ``residual = 0``).

    The field appears as the applied function ``field(x, y)`` and its derivatives. None where the
    residual is not linear in the field and its derivatives, has a derivative above second order,
    holds another field, an unknown symbol or the field at other arguments, or has no second-order
    term at all. Whether the second-order part is elliptic (definite) is checked by the solver on
    the mesh, not here.
    """
    x, y = (sp.Symbol(c, real=True) for c in coords)
    expr = sp.sympify(expr)
    # one symbol per coordinate name, whatever assumptions the caller's symbols carry
    expr = expr.xreplace({s: {coords[0]: x, coords[1]: y}[s.name] for s in expr.free_symbols
                          if isinstance(s, sp.Symbol) and s.name in coords})  # fmt: skip
    expr = expr.doit()
    if not expr.free_symbols <= {x, y}:
        return None
    u = sp.Function(field)(x, y)
    placeholders = {name: sp.Dummy(name) for name in TERMS}
    swap = _derivative_symbols(expr, u, x, y, placeholders)
    if swap is None:
        return None
    plain = expr.xreplace(swap)
    if plain.atoms(AppliedUndef) or plain.atoms(sp.Derivative):
        return None
    dummies = set(placeholders.values())
    coeffs = {}
    for name, s in placeholders.items():
        # linear: every coefficient is free of the field (u·u_x gives u_x's coefficient u)
        coeff = sp.expand(sp.diff(plain, s))
        if coeff.free_symbols & dummies:
            return None
        coeffs[name] = coeff
    if all(coeffs[n] == 0 for n in ("uxx", "uxy", "uyy")):
        return None  # first order or algebraic: not elliptic
    source = -plain.xreplace({s: 0 for s in dummies})  # residual = L u - source
    return EllipticForm(field, tuple(coords), **coeffs, source=source)


def _derivative_symbols(expr, u, x, y, placeholders) -> dict | None:
    """Map the field and each of its derivatives in ``expr`` to its placeholder; None if any is not allowed."""
    swap = {u: placeholders["u"]}
    for f in expr.atoms(AppliedUndef):
        if f != u:
            return None  # another field, or the field at other arguments (u(0, y))
    for d in expr.atoms(sp.Derivative):
        if d.expr != u:
            return None
        counts = dict(d.variable_count)
        order = (int(counts.pop(x, 0)), int(counts.pop(y, 0)))
        if counts or sum(order) > 2:
            return None
        swap[d] = placeholders[next(n for n, o in _ORDERS.items() if o == order)]
    return swap



# ----------------------------------------------------------------------------------------------
# conditions and coefficients

_KINDS = {"value": 1, "flux": 1, "robin": 3}


def _checked_conditions(conditions: dict, outline: Outline) -> dict:
    """``{part: (kind, callables...)}`` with numbers made functions; Robin with ``b = 0`` made a value."""
    out = {}
    for part, cond in (conditions or {}).items():
        if not isinstance(part, (int, np.integer)) or not 0 <= part < len(outline.parts):
            raise ProblemError(f"boundary condition for part {part!r}: the outline's parts are 0..{len(outline.parts) - 1} "
                               f"({', '.join(outline.parts)})")  # fmt: skip
        kind, *args = cond if isinstance(cond, tuple) else (cond,)
        if kind not in _KINDS or len(args) != _KINDS[kind]:
            raise ProblemError(f"boundary condition for part {outline.parts[part]!r}: expected ('value', g), ('flux', g) "
                               f"or ('robin', a, b, g); got {cond!r}")  # fmt: skip
        if kind == "robin":
            kind, args = _plain_robin(outline.parts[part], *args)
        out[int(part)] = (kind, *(_function(a) for a in args))
    return out


def _plain_robin(part: str, a, b, g) -> tuple[str, list]:
    """A Robin condition with a number 0 for ``a`` or ``b`` is a flux or a value condition."""
    a_zero, b_zero = (not callable(v) and float(v) == 0 for v in (a, b))
    if a_zero and b_zero:
        raise ProblemError(f"Robin condition on {part!r}: a·u + b·du/dn = g with a = b = 0 sets nothing")
    if b_zero:  # a u = g
        a, g = _function(a), _function(g)
        return "value", [lambda x, y, *t: g(x, y, *t) / a(x, y)]
    if a_zero:  # b du/dn = g
        b, g = _function(b), _function(g)
        return "flux", [lambda x, y, *t: g(x, y, *t) / b(x, y)]
    return "robin", [a, b, g]


def _function(value) -> Callable:
    """A vectorised ``(x, y[, t]) -> array`` of x's shape, from a callable or a number."""
    if callable(value):
        return lambda x, y, *t: np.broadcast_to(np.asarray(value(x, y, *t), float), np.shape(x))
    number = float(value)
    return lambda x, y, *t: np.full(np.shape(x), number)


def _weak_coefficients(form: EllipticForm) -> dict | None:
    """Numeric ``(x, y) -> array`` functions of A (kxx, kxy, kyy), b - div A (bx, by), c and the source f."""
    axx, axy, ayy = form.diffusion()
    bx, by = form.drift()
    exprs = {"kxx": axx, "kxy": axy, "kyy": ayy, "bx": bx, "by": by, "c": form.u, "f": form.source}
    out = {}
    for name, e in exprs.items():
        # the derivative of a jump (Heaviside in a coefficient) is zero almost everywhere
        e = e.replace(sp.DiracDelta, lambda *args: sp.S.Zero)
        try:
            # an expression from our own parser's SymPy tree, never text: lambdify is safe here
            fn = sp.lambdify(form.symbols, e, modules=LAMBDIFY_MODULES)
        except Exception:  # a function NumPy has no counterpart for: no reference
            return None
        out[name] = _function(fn)
    out["zero"] = {name for name, e in exprs.items() if e == 0}
    return out


def _determined(form: EllipticForm, conditions: dict) -> bool:
    """False when the solution is fixed only up to a constant: fluxes everywhere and no ``u`` term."""
    return form.u != 0 or any(c[0] in ("value", "robin") for c in conditions.values())


def _definite_sign(coeffs: dict, basis) -> int | None:
    """+1 or -1: the sign of A, definite at every quadrature point; None if it is not."""
    x, y = basis.mapping.F(basis.X)
    with np.errstate(all="ignore"):
        kxx, kxy, kyy = (coeffs[n](x, y) for n in ("kxx", "kxy", "kyy"))
        det, trace = kxx * kyy - kxy**2, kxx + kyy
    if not (np.isfinite(det).all() and np.isfinite(trace).all()):
        return None
    # both eigenvalues of one sign: det > 0, relative to the scale so rounding is not definiteness
    if not (det > 1e-10 * np.max(trace**2)).all():
        return None
    if (trace > 0).all():
        return 1
    return -1 if (trace < 0).all() else None


