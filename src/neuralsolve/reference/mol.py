"""Method of lines for evolution equations ``u_t = F(x, t, u, u_x, u_xx)`` in one space dimension.

Second-order central differences on a uniform grid turn the PDE into a stiff ODE system in time,
integrated by ``solve_ivp`` with a banded Jacobian sparsity; ends are Dirichlet values imposed
exactly or periodic. The reference at any point interpolates the dense-in-time solution with
local cubics in x.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sparse

from .._errors import ProblemError
from ..problem.domain import TIME
from ..ops.point import value_at
from ..problem.parse import field_terms
from .conditions import hard_values, periodic_axis, values_at
from .integrate import integrate
from .result import Reference
from .symbolic import compile_all, replace_terms, solve_for, state_symbol

_CHUNK = 128  # times evaluated together in values(): bounds memory at _CHUNK x fields x nodes


def mol_reference(problem, *, nodes: int = 4096, method: str = "BDF", rtol: float = 1e-8,
                  atol: float = 1e-10) -> Reference | None:  # fmt: skip
    """Solve a 1-D evolution problem on ``nodes`` grid points by the method of lines; None if it is not one."""
    if not isinstance(nodes, int) or nodes < 8:
        raise ProblemError(f"the method of lines needs an integer number of nodes >= 8, got {nodes!r}")
    domain = problem.domain
    if len(domain.coords) != 2 or domain.coords[1] != TIME or set(domain.segments()) != {0, 1}:
        return None
    if any(eq.expr is None for eq in problem.equations):
        return None
    pointwise = _evolution(problem)
    ends = _ends(problem)
    initial = hard_values(problem, 1, 0)
    if pointwise is None or ends is None or len(initial) != len(problem.fields) or hard_values(problem, 1, 1):
        return None
    dirichlet = None if ends == "periodic" else ends
    grid = _Grid(problem, nodes, periodic=dirichlet is None)
    start = grid.at(grid.unknowns, grid.t0)
    y0 = np.concatenate([values_at(initial[k].value, domain.coords, start, "initial condition")
                         for k in range(len(problem.fields))])  # fmt: skip
    dense = integrate(grid.derivative(pointwise, dirichlet), (grid.t0, grid.t1), y0,
                      name=problem.name, method=method, rtol=rtol, atol=atol,
                      jac_sparsity=grid.sparsity(pointwise.coupling))  # fmt: skip
    if dense is None:
        return None
    profiles = grid.profiles(dense, dirichlet)
    desc = f"method of lines, {nodes}-point finite differences + {method}"
    return Reference(desc, problem.fields, domain, lambda pts: grid.interpolate(profiles, pts))


@dataclass(frozen=True)
class _Pointwise:
    """``F`` of each field's equation ``u_t = F``: JAX functions of a dict of values by symbol name."""

    fns: list[Callable]
    coupling: np.ndarray  # coupling[i, j]: F_i depends on field j


def _evolution(problem) -> _Pointwise | None:
    """Solve the equations for the first time derivatives; None if they are not of that form."""
    exprs, fields = [eq.expr for eq in problem.equations], problem.fields
    x = problem.domain.coords[0]
    terms = field_terms(exprs, fields)
    if terms is None or len(exprs) != len(fields):
        return None
    targets, symbols = {}, {}
    for term, (f, spec) in terms.items():
        orders = dict(spec)
        if TIME in orders:
            if spec != ((TIME, 1),):
                return None  # second order in time (waves) or mixed derivatives: out of scope
            targets[f] = term
        elif orders.get(x, 0) > 2:
            return None
        else:
            symbols[term] = state_symbol(f, x, orders.get(x, 0))
    if set(targets) != set(fields):
        return None  # a field with no time derivative: a constraint, not an evolution equation
    rhs = solve_for(exprs, [targets[f] for f in fields])
    rhs = None if rhs is None else replace_terms(rhs, symbols)
    fns = None if rhs is None else compile_all(rhs, "reference right-hand side")
    if fns is None:
        return None
    names = [[state_symbol(f, x, k).name for k in range(3)] for f in fields]
    coupling = np.array([[any(s.name in names[j] for s in r.free_symbols) for j in range(len(fields))] for r in rhs])
    return _Pointwise(fns, coupling)


def _ends(problem):
    """``"periodic"``, or the Dirichlet values ``{field: (left, right)}``, or None (anything else)."""
    if any(axis != 0 for axis in problem.periodic):
        return None
    periodic = bool(problem.periodic)
    for pen in problem.penalties:
        if pen.points is not None:
            continue  # observations are data to compare with, not conditions that define the solution
        if periodic_axis(pen) != 0:
            return None  # Neumann, Robin, penalty-imposed values, ...: not supported
        periodic = True
    left, right = hard_values(problem, 0, 0), hard_values(problem, 0, 1)
    if periodic:
        return "periodic" if not left and not right else None
    if len(left) != len(problem.fields) or len(right) != len(problem.fields):
        return None
    return {k: (left[k].value, right[k].value) for k in range(len(problem.fields))}


class _Grid:
    """A uniform grid in x: nodes, the unknowns among them, stencils and interpolation."""

    def __init__(self, problem, nodes: int, periodic: bool):
        lo, hi = problem.domain.bounds()
        self.coords, self.fields, self.periodic = problem.domain.coords, problem.fields, periodic
        self.a, self.b, self.t0, self.t1 = float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])
        # periodic: node `nodes` would be node 0 again, so the nodes stop one step short of b
        self.h = (self.b - self.a) / (nodes if periodic else nodes - 1)
        self.x = self.a + self.h * np.arange(nodes)
        self.unknowns = self.x if periodic else self.x[1:-1]

    def at(self, x: np.ndarray, t: float) -> np.ndarray:
        """Points (x, t) for the nodes x at one time."""
        return np.stack([x, np.full_like(x, t)], axis=1)

    def boundary(self, ends, t):
        """Dirichlet values (fields, 2) at time t (traceable)."""
        pts = [jnp.stack([jnp.float64(e), t]) for e in (self.a, self.b)]
        return jnp.stack([jnp.stack([value_at(g, self.coords, p) for g, p in zip(ends[k], pts)])
                          for k in range(len(self.fields))])  # fmt: skip

    def derivative(self, pointwise: _Pointwise, ends):
        """``dy/dt(t, y)`` of the unknowns, fields stacked one after another."""
        n, h, x = len(self.unknowns), self.h, self.unknowns  # NumPy: jnp.asarray here would be float32
        names = [[state_symbol(f, self.coords[0], k).name for k in range(3)] for f in self.fields]

        def rhs(t, y):
            u = y.reshape(len(self.fields), n)
            if ends is None:
                left, right = jnp.roll(u, 1, axis=1), jnp.roll(u, -1, axis=1)
            else:
                b = self.boundary(ends, t)
                padded = jnp.concatenate([b[:, :1], u, b[:, 1:]], axis=1)
                left, right = padded[:, :-2], padded[:, 2:]
            ux, uxx = (right - left) / (2 * h), (right - 2 * u + left) / h**2
            values = {self.coords[0]: x, TIME: t}
            for k, (s0, s1, s2) in enumerate(names):
                values.update({s0: u[k], s1: ux[k], s2: uxx[k]})
            return jnp.concatenate([jnp.broadcast_to(fn(values), (n,)) for fn in pointwise.fns]).astype(jnp.float64)

        return rhs

    def sparsity(self, coupling: np.ndarray) -> sparse.csr_matrix:
        """Which unknowns each derivative depends on: a three-point stencil per coupled field pair."""
        n = len(self.unknowns)
        band = sparse.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(n, n), format="lil", dtype=float)
        if self.periodic:
            band[0, n - 1] = band[n - 1, 0] = 1
        return sparse.kron(sparse.csr_matrix(coupling.astype(float)), band.tocsr(), format="csr")

    def profiles(self, dense, ends):
        """``profile(ts) -> (len(ts), fields, nodes)``: the dense solution on all nodes at times ts."""
        n, nf = len(self.unknowns), len(self.fields)
        bvals = None if ends is None else jax.jit(jax.vmap(lambda t: self.boundary(ends, t)))

        def profile(ts):
            inner = dense(ts).reshape(nf, n, len(ts)).transpose(2, 0, 1)
            if ends is None:
                return inner
            with jax.enable_x64(True):
                b = np.asarray(bvals(np.asarray(ts, np.float64)))
            return np.concatenate([b[:, :, :1], inner, b[:, :, 1:]], axis=2)

        return profile

    def interpolate(self, profile, points: np.ndarray) -> np.ndarray:
        """Field values at points (n, 2): local cubic interpolation in x of the profiles at their times."""
        ts, which = np.unique(points[:, 1], return_inverse=True)
        out = np.empty((len(points), len(self.fields)))
        nodes = len(self.x)
        cell = np.floor((points[:, 0] - self.a) / self.h).astype(int)
        # four nodes around each point; at a Dirichlet end the stencil shifts inwards
        start = cell - 1 if self.periodic else np.clip(cell - 1, 0, nodes - 4)
        xi = (points[:, 0] - (self.a + start * self.h)) / self.h
        weights = _lagrange_cubic(xi)
        for lo in range(0, len(ts), _CHUNK):
            prof = profile(ts[lo : lo + _CHUNK])
            sel = np.flatnonzero((which >= lo) & (which < lo + _CHUNK))
            rows = which[sel] - lo
            out[sel] = sum(weights[sel, j, None] * prof[rows, :, (start[sel] + j) % nodes] for j in range(4))
        return out


def _lagrange_cubic(xi: np.ndarray) -> np.ndarray:
    """Weights (n, 4) of the cubic through nodes 0, 1, 2, 3 at positions xi (in node spacings)."""
    return np.stack([-(xi - 1) * (xi - 2) * (xi - 3) / 6, xi * (xi - 2) * (xi - 3) / 2,
                     -xi * (xi - 1) * (xi - 3) / 2, xi * (xi - 1) * (xi - 2) / 6], axis=1)  # fmt: skip

