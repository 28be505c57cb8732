"""Conserved quantities: 1-D equations that each say a quantity is constant, ``diff(Q, x) = 0``.

Such a system is algebraic at heart: ``Q(u(x), x) = Q(u(x_b), x_b)`` at every point, with the
constants read from the values given at one end ``x_b``. The reference solves it by Newton's
method point by point, continued across the interval from that end, each step started from the
straight-line extrapolation of the two before it. Where the Jacobian ``dQ/du`` is singular — a
critical point, such as the sonic point of a transonic flow, where an ODE solver would divide 0
by 0 — two branches of roots meet; the extrapolation goes straight through, onto the branch the
solution continues smoothly on (the transonic one), instead of turning back.

Its own error: the rounding of the constants propagated through ``(dQ/du)^-1`` at every point
(largest near a critical point), or the difference from the same continuation on a grid twice
as fine (which shows where the two grids chose different branches), whichever is larger.
"""

from __future__ import annotations

import ast

import numpy as np

from .._errors import ProblemError
from ..problem.parse import parse_expression, split_equation
from .conditions import values_at
from .estimate import relative_difference
from .result import Reference
from .symbolic import numpy_function, state_symbol

STEPS = 64  # continuation steps across the interval (the estimate's second run takes twice as many)
NEWTON_ITERATIONS = 60
CRITICAL = 1e-2  # a march passing this close to a critical point (see _System.closeness) crosses it
EPS = np.finfo(float).eps


def conserved_texts(problem) -> list[str] | None:
    """The text of each equation's conserved quantity ``Q`` when every equation reads
    ``diff(Q, x) = 0`` (either side; ``x`` the only coordinate) and there are as many as fields;
    else None. From the equations' text alone: no SymPy, so ``neuralsolve check`` can say it."""
    coords = problem.domain.coords
    texts = problem.arguments.get("equations")
    texts = [texts] if isinstance(texts, str) else list(texts or ())
    if len(coords) != 1 or len(texts) != len(problem.fields) or not all(isinstance(t, str) for t in texts):
        return None
    out = []
    for text in texts:
        try:
            sides = [ast.parse(s.strip().replace("^", "**"), mode="eval").body for s in split_equation(text, "")]
        except (ProblemError, SyntaxError, ValueError):
            return None
        zero = [s for s in sides if isinstance(s, ast.Constant) and s.value == 0 and not isinstance(s.value, bool)]
        derivative = [s for s in sides if _is_first_derivative(s, coords[0])]
        if len(zero) != 1 or len(derivative) != 1:
            return None
        inner = derivative[0].args[0]
        if any(isinstance(n, ast.Call) and getattr(n.func, "id", None) == "diff" for n in ast.walk(inner)):
            return None  # a quantity with derivatives in it: an ODE, not an algebraic system
        out.append(ast.unparse(inner))
    return out


def fits(problem) -> bool:
    """Every equation ``diff(Q, x) = 0`` and every field's value (no other condition) at one end."""
    ends = {h.side for h in problem.hard}
    return (conserved_texts(problem) is not None and not problem.penalties and len(ends) == 1
            and sorted(h.field for h in problem.hard) == list(range(len(problem.fields))))  # fmt: skip


def _is_first_derivative(node, coord: str) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "diff"
            and len(node.args) == 2 and not node.keywords
            and isinstance(node.args[1], ast.Name) and node.args[1].id == coord)  # fmt: skip


def conserved_reference(problem, *, steps: int = STEPS, estimate: bool = True) -> Reference | None:
    """The solution of ``diff(Q_i, x) = 0`` (see the module) with every field's value given at one
    end; None if the problem is not of that form or the continuation fails."""
    system = _System.of(problem)
    if system is None:
        return None
    pieces = system.march(steps)
    if pieces is None:
        return None
    own = None
    if estimate:
        samples = np.linspace(*system.bounds, 2001)
        values, rounding = system.at(samples, pieces, errors=True)
        fine = system.march(2 * steps)
        other = np.full_like(values, np.nan) if fine is None else system.at(samples, fine)
        spread = relative_difference(values, other)
        size = np.linalg.norm(values, axis=0)
        own = max(spread, float(np.max(np.linalg.norm(rounding, axis=0) / np.maximum(size, 1e-300))))
    return Reference("conserved quantities (Newton's method, continued from the given end)", problem.fields,
                     problem.domain, lambda pts: system.at(pts[:, 0], pieces), error_estimate=own)  # fmt: skip


class _System:
    """``Q(u, x)``, its Jacobian in ``u``, the constants and the end they were read at."""

    def __init__(self, q, jac, constants, start, bounds):
        self.q, self.jac, self.constants, self.start, self.bounds = q, jac, constants, start, bounds
        end, u0 = start
        rows = np.linalg.norm(jac(u0[None], np.array([end]))[0] * np.abs(u0), axis=1)
        self.rows = np.where(rows > 0, rows, 1.0)  # each equation's size at the given end

    @classmethod
    def of(cls, problem) -> _System | None:
        import sympy as sp

        if not fits(problem) or any(eq.expr is None for eq in problem.equations):
            return None
        texts, (coord,), fields = conserved_texts(problem), problem.domain.coords, problem.fields
        ns = problem.namespace
        symbols = [state_symbol(f, coord, 0) for f in fields]
        swap = {ns.field_function(f): s for f, s in zip(fields, symbols)}
        q = [parse_expression(t, ns, f"equation {i + 1}").subs(swap) for i, t in enumerate(texts)]
        if any(e.has(sp.Derivative) or e.atoms(sp.core.function.AppliedUndef) for e in q):
            return None  # a derivative through a helper function: not algebraic after all
        fns = [numpy_function(e) for e in q]
        jfns = [[numpy_function(sp.diff(e, s)) for s in symbols] for e in q]
        if any(f is None for f in fns) or any(f is None for row in jfns for f in row):
            return None
        names = [s.name for s in symbols]
        (lo, hi) = (float(b[0]) for b in problem.domain.bounds())
        end = hi if problem.hard[0].side else lo
        u0 = np.array([values_at(h.value, (coord,), np.array([[end]]), "condition")[0]
                       for h in sorted(problem.hard, key=lambda h: h.field)])  # fmt: skip

        def evaluate(table, u, xs):
            values = {coord: xs} | {n: u[:, i] for i, n in enumerate(names)}
            with np.errstate(all="ignore"):
                return np.broadcast_to(np.asarray(table(values), float), xs.shape)

        def q_of(u, xs):
            return np.stack([evaluate(f, u, xs) for f in fns], axis=-1)

        def jac_of(u, xs):
            return np.stack([np.stack([evaluate(f, u, xs) for f in row], axis=-1) for row in jfns], axis=-2)

        constants = q_of(u0[None], np.array([end]))[0]
        if not np.all(np.isfinite(constants)):
            return None
        return cls(q_of, jac_of, constants, (end, u0), (lo, hi))

    def march(self, steps: int) -> list[tuple[np.ndarray, np.ndarray, tuple[float, float]]] | None:
        """The solution on ``steps + 1`` evenly spaced points from the given end to the other, as
        pieces ``(grid, values, (lo, hi))`` split at critical points (each piece is one branch of
        roots, valid from lo to hi); None where the continuation fails."""
        end, u0 = self.start
        other = self.bounds[0] if end == self.bounds[1] else self.bounds[1]
        grid = np.linspace(end, other, steps + 1)
        path, near = np.full((len(grid), len(u0)), np.nan), np.zeros(len(grid))
        path[0], near[0] = u0, self.closeness(u0[None], grid[:1])[0]
        cuts, k, armed = [], 1, True  # armed: away from the last critical point since crossing it
        while k < len(grid):
            guess = path[k - 1] if k == 1 else 2 * path[k - 1] - path[k - 2]
            side = np.sign(self.signed_determinant(path[k - 1 : k], grid[k - 1 : k]))
            root, ok = self.newton(guess[None], grid[k : k + 1], side)
            closeness = self.closeness(root, grid[k : k + 1])[0] if ok[0] else 0.0
            c = k - 1  # a critical point at c: a closest approach to one, or no root beyond it (a fold)
            passed = near[c] < CRITICAL and near[c] <= near[c - 1] and near[c] < closeness if k >= 2 else False
            if (passed or not ok[0]) and c >= 1 and armed:
                k = self._cross(grid, path, near, c)
                if k is None:
                    return None
                cuts.append((c, self._vertex(grid, path, c)))
                armed = False
                continue
            if not ok[0]:
                return None
            path[k], near[k] = root[0], closeness
            armed = armed or closeness >= CRITICAL
            k += 1
        return self._pieces(grid, path, cuts)

    def _cross(self, grid, path, near, c) -> int | None:
        """Onto the branch beyond the critical point at ``c``: the roots there lie on the straight
        lines the branches cross on, so the point reflection through ``path[c]`` of a point ``j``
        steps before it starts Newton's method ``j`` steps after it; the first ``j`` (1, 2, 4, ...)
        whose root has the Jacobian's determinant of the other sign (the other branch, not the
        near one bending back) is taken, and the steps between filled backwards from there.
        Returns the next index to march from, or None."""
        sign = np.sign(self.signed_determinant(path[c - 1 : c], grid[c - 1 : c])[0])
        other = -sign[None]
        j = 1
        while c - j >= 0 and c + j < len(grid):
            at = grid[c + j : c + j + 1]
            root, ok = self.newton((2 * path[c] - path[c - j])[None], at, other)
            if ok[0]:
                path[c + j], near[c + j] = root[0], self.closeness(root, at)[0]
                for i in range(c + j - 1, c, -1):  # back towards the critical point, on this branch
                    ahead = path[i + 1] if i + 2 > c + j else 2 * path[i + 1] - path[i + 2]
                    root, ok = self.newton(ahead[None], grid[i : i + 1], other)
                    path[i] = root[0]  # where there is no root (a gap), its closest approach
                    near[i] = self.closeness(root, grid[i : i + 1])[0]
                return c + j + 1
            j *= 2
        return None

    def _vertex(self, grid, path, c) -> float:
        """Where the branch comes closest to the critical point near ``grid[c]``: the least
        closeness along it, found on two rounds of 65 points, each a step either side."""
        lo, hi = sorted((grid[c - 1], 2 * grid[c] - grid[c - 1]))
        for _ in range(2):
            xs = np.linspace(lo, hi, 65)
            slope = (path[c] - path[c - 1]) / (grid[c] - grid[c - 1])
            roots, _ = self.newton(path[c] + slope * (xs - grid[c])[:, None], xs)
            best = xs[np.argmin(self.closeness(roots, xs))]
            lo, hi = best - (hi - lo) / 64, best + (hi - lo) / 64
        return float(best)

    def _pieces(self, grid, path, cuts):
        """Split the march at each critical point (``c`` the last point of the branch before it,
        ``at`` where the branches meet), each branch walked on in fine steps up to ``at`` (close to a
        critical point the branches are near each other, and only small steps stay on one)."""
        pieces, first, lo = [], 0, grid[0]
        for c, at in cuts + [(len(grid) - 1, None)]:
            g, v = grid[first : c + 1], path[first : c + 1]
            if at is not None:  # the end of this branch, up to the crossing
                g, v = self._walk(g, v, at)
            if lo != grid[0]:  # the start of this branch, back to the previous crossing
                back_g, back_v = self._walk(g[::-1], v[::-1], lo)
                g, v = back_g[::-1], back_v[::-1]
            pieces.append((g, v, (lo, grid[-1] if at is None else at)))
            first, lo = c + 1, at
        return [(g[::-1], v[::-1], (b, a)) if g[0] > g[-1] else (g, v, (a, b)) for g, v, (a, b) in pieces]

    def _walk(self, grid, path, to: float, steps: int = 32):
        """``grid``, ``path`` (ending on one branch) continued on that branch in ``steps`` small
        steps to ``to``, as far as it has roots."""
        if len(grid) < 2:
            return grid, path
        side = np.sign(self.signed_determinant(path[-1:], grid[-1:]))
        xs, us = list(grid), list(path)
        for x in np.linspace(grid[-1], to, steps + 1)[1:]:
            guess = us[-1] + (us[-1] - us[-2]) * (x - xs[-1]) / (xs[-1] - xs[-2])
            root, ok = self.newton(guess[None], np.array([x]), side)
            if not ok[0]:
                break
            xs.append(x)
            us.append(root[0])
        return np.array(xs), np.array(us)

    def closeness(self, u, xs) -> np.ndarray:
        """How far from singular the Jacobian is: its least singular value, with each field
        measured relative to its value and each equation relative to its size at the given end
        (about 1 there, 0 at a critical point)."""
        with np.errstate(all="ignore"):
            scaled = self.jac(u, xs) * np.abs(u)[:, None, :] / self.rows[:, None]
            out = np.linalg.svd(np.nan_to_num(scaled), compute_uv=False)[:, -1]
        return np.nan_to_num(out, nan=0.0)

    def signed_determinant(self, u, xs) -> np.ndarray:
        """The Jacobian's determinant (fields relative to their values): its sign tells the branches apart."""
        with np.errstate(all="ignore"):
            return np.nan_to_num(np.linalg.det(self.jac(u, xs) * np.abs(u)[:, None, :]))

    def at(self, xs, pieces, errors: bool = False):
        """Values at points ``xs``, each found by Newton's method from the extrapolation of the two
        nearest points of its branch; with ``errors``, also each value's rounding error bound."""
        xs = np.asarray(xs, float)
        start, slope, offset = (np.full((len(xs), len(self.constants)), np.nan) for _ in range(3))
        for grid, path, (lo, hi) in pieces:
            inside = (xs >= lo) & (xs <= hi) if len(pieces) > 1 else np.ones(len(xs), bool)
            if len(grid) < 2:
                start[inside], slope[inside], offset[inside] = path[0], 0.0, 0.0
                continue
            x = xs[inside]
            k = np.clip(np.searchsorted(grid, x), 1, len(grid) - 1)
            near = np.where(x - grid[k - 1] <= grid[k] - x, k - 1, k)
            behind = np.where(near == k - 1, np.maximum(near - 1, 0), np.minimum(near + 1, len(grid) - 1))
            behind = np.where(behind == near, np.where(near == 0, 1, near - 1), behind)
            start[inside] = path[near]
            slope[inside] = (path[near] - path[behind]) / (grid[near] - grid[behind])[:, None]
            offset[inside] = (x - grid[near])[:, None]
        # on the branch of the nearest point: the extrapolation pulled back towards that point until
        # it is on the same side of the critical set, then Newton's method kept on that side
        sign = np.sign(self.signed_determinant(start, xs))
        guess = start.copy()
        for t in (0.25, 0.5, 1.0):
            trial = start + t * slope * offset
            guess = np.where((np.sign(self.signed_determinant(trial, xs)) == sign)[:, None], trial, guess)
        root, _ = self.newton(guess, xs, sign)
        if not errors:
            return root
        residual = np.abs(self.q(root, xs) - self.constants) + 4 * EPS * np.abs(self.constants)
        with np.errstate(all="ignore"):
            bound = np.abs(np.linalg.pinv(self.jac(root, xs))) @ residual[..., None]
        return root, bound[..., 0]

    def newton(self, u, xs, sign=None) -> tuple[np.ndarray, np.ndarray]:
        """Damped Newton on ``Q(u, x) = constants`` at every point at once: (roots, converged);
        where it does not converge, the point of least misfit it found. With ``sign``, each point
        stays where the Jacobian's determinant has that sign (on one branch of roots)."""
        u = np.array(u, float)
        scale = np.abs(self.constants) + 1e-300

        def misfit(v):
            r = self.q(v, xs) - self.constants
            size = np.nan_to_num(np.max(np.abs(r) / scale, axis=-1), nan=np.inf)
            if sign is not None:
                size = np.where(np.sign(self.signed_determinant(v, xs)) == sign, size, np.inf)
            return r, size

        r, now = misfit(u)
        for _ in range(NEWTON_ITERATIONS):
            done = now <= 8 * EPS
            if done.all():
                break
            with np.errstate(all="ignore"):
                step = np.nan_to_num(np.einsum("nij,nj->ni", np.linalg.pinv(self.jac(u, xs)), r))
            factor = np.ones(len(u))
            for _ in range(30):  # halve the step where it leaves the domain or does not reduce the misfit
                trial = u - factor[:, None] * step
                r_trial, after = misfit(trial)
                better = after < now
                if (better | done).all():
                    break
                factor = np.where(better | done, factor, factor / 2)
            if not better.any():
                break
            u, r, now = (np.where(better[:, None], trial, u), np.where(better[:, None], r_trial, r),
                         np.where(better, after, now))  # fmt: skip
        return u, now <= 1e3 * EPS
