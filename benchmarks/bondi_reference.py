"""Reference solution for steady spherical Bondi accretion onto a Schwarzschild
black hole (G = c = M = 1) with a polytropic fluid P = k rho^Gamma.

Usable as a script (prints a report) or as a module::

    sys.path.insert(0, "benchmarks")
    import bondi_reference
    rho, v = bondi_reference.solve_at(r)

Method
------
The two conservation laws

    C1 = rho v sqrt(1 - 2M/r) r^2 / sqrt(1 - v^2)
    C2 = h sqrt(1 - 2M/r) / sqrt(1 - v^2),   h = 1 + Gamma/(Gamma-1) k rho^(Gamma-1)

are algebraic in (rho, v) at every r.  C1 is used to eliminate rho,

    rho(v; r) = C1 sqrt(1 - v^2) / (v sqrt(1 - 2M/r) r^2),

leaving one scalar equation F(v; r) = C2.  Differentiating,

    d ln F / d ln v = (v^2 - c_s^2) / (1 - v^2),   c_s^2 = Gamma k rho^(Gamma-1) / h,

so F -> +inf for v -> 0 and v -> 1 and has a single minimum at the sonic
condition v = c_s (g(v) = v^2 - c_s^2(v) is strictly increasing in v because
rho, hence c_s, decreases with v; its root v*(r) is found with brentq).  The
subsonic root lies in (0, v*), the supersonic one in (v*, 1); both are found
with brentq on these brackets.

The sonic (critical) radius r_c is the saddle point of F: dF/dv = 0 and
dF/dr = 0.  Along the curve v = v*(r) the minimum Fmin(r) = F(v*(r); r) has
dFmin/dr = dF/dr, so r_c is where Fmin(r) is maximal; it is found with brentq on

    d ln F / d ln r |_{v = v*} = 1/(r - 2) - v*^2 (2 + 1/(r - 2)) = 0     (M = 1).

Because the boundary values are given to 6 significant digits the constants
are not exactly critical.  Two cases:

* C2 < Fmin(r_c): there is a small interval (the "gap") around r_c in which
  Fmin(r) > C2 and no real root exists; there we return v = v*(r), the v that
  minimises F (i.e. the sonic-point velocity, the closest approach to C2).
  At the gap edges the branches meet v* with the usual square-root fold.
* C2 > Fmin(r_c): both branches exist everywhere but do not touch; we switch
  from the subsonic to the supersonic branch at r_c (small jump, reported).
  This is the case for the issue's boundary values: C2 - Fmin(r_c) = 1.5e-8
  (relative), giving a jump of ~0.2 % in v (up, inward) and in rho (down,
  inward) at r_c; the default-C2 and critical-C2 profiles differ by ~3e-5/|r - r_c|
  (relative) away from r_c, e.g. 4e-6 at |r - r_c| = 10.

``solve_at(r, critical=True)`` instead uses C2 replaced by Fmin(r_c), which is
the exactly transonic solution with the same C1 (smooth through r_c).
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import brentq

M = 1.0
K = 0.1
GAMMA = 4.0 / 3.0
R_MIN = 20.0
R_OUT = 140.5
RHO_OUT = 3.24197e-4
V_OUT = 0.0286708

# Expected values from the issue.
EXPECTED = {
    100.0: (4.187337e-4, 0.04392345),
    20.0: (2.278625e-3, 0.2062406),
}

_XTOL = 1e-300  # brentq: let rtol (4 eps) govern convergence
_RTOL = 4.0 * np.finfo(float).eps
_VLO = 1e-12
_VHI = 1.0 - 1e-12


def enthalpy(rho):
    """Specific enthalpy h = 1 + Gamma/(Gamma-1) k rho^(Gamma-1)."""
    return 1.0 + GAMMA / (GAMMA - 1.0) * K * np.power(rho, GAMMA - 1.0)


def sound_speed(rho):
    """c_s = sqrt(Gamma k rho^(Gamma-1) / h)."""
    return np.sqrt(GAMMA * K * np.power(rho, GAMMA - 1.0) / enthalpy(rho))


def constants(rho_out: float = RHO_OUT, v_out: float = V_OUT, r_out: float = R_OUT):
    """Return (C1, C2) evaluated from the boundary values at r_out."""
    lapse = np.sqrt(1.0 - 2.0 * M / r_out)
    gam = np.sqrt(1.0 - v_out * v_out)
    c1 = rho_out * v_out * lapse * r_out**2 / gam
    c2 = enthalpy(rho_out) * lapse / gam
    return float(c1), float(c2)


_C1, _C2 = constants()


# ---------------------------------------------------------------- scalar core
def _rho_of_v(v, r, c1=_C1):
    return c1 * np.sqrt(1.0 - v * v) / (v * np.sqrt(1.0 - 2.0 * M / r) * r * r)


def _F(v, r, c1=_C1):
    """C2 as a function of v at radius r, with rho eliminated through C1."""
    rho = _rho_of_v(v, r, c1)
    return enthalpy(rho) * np.sqrt(1.0 - 2.0 * M / r) / np.sqrt(1.0 - v * v)


def _sonic_v(r, c1=_C1):
    """v*(r): argmin_v F(v; r), i.e. the root of v^2 = c_s^2(rho(v; r))."""
    g = lambda v: v * v - sound_speed(_rho_of_v(v, r, c1)) ** 2
    return brentq(g, _VLO, _VHI, xtol=_XTOL, rtol=_RTOL)


def _fmin(r, c1=_C1):
    return _F(_sonic_v(r, c1), r, c1)


def _dlnF_dlnr_at_sonic(r, c1=_C1):
    vs = _sonic_v(r, c1)
    return 1.0 / (r / M - 2.0) - vs * vs * (2.0 + 1.0 / (r / M - 2.0))


def sonic_radius(c1: float = _C1) -> float:
    """Critical (sonic) radius r_c.

    Defined as the saddle point of F(v; r): the radius where the minimum over v
    of F (attained at v = c_s) is maximal, i.e. dF/dr = 0 at v = c_s.  This is
    where the transonic solution crosses c_s and where the sub- and supersonic
    branches meet for exactly critical constants.  It depends on C1 only.
    """
    return brentq(lambda r: _dlnF_dlnr_at_sonic(r, c1), 2.5 * M, 1.0e4 * M,
                  xtol=1e-13, rtol=_RTOL)


_RC = sonic_radius()
_C2_CRIT = _fmin(_RC)


def critical_c2() -> float:
    """Fmin(r_c): the value of C2 that makes the flow exactly transonic for C1."""
    return _C2_CRIT


def _gap_edge(side, c2):
    """Radius where Fmin(r) = c2 on the given side of r_c (None if no gap)."""
    f = lambda r: _fmin(r) - c2
    if f(_RC) <= 0.0:
        return None
    if side < 0:
        lo, hi = 2.5 * M, _RC
    else:
        lo, hi = _RC, 1.0e4 * M
    if f(lo) * f(hi) > 0:
        return None
    return brentq(f, lo, hi, xtol=1e-13, rtol=_RTOL)


def gap():
    """(r_lo, r_hi) of the no-real-root interval around r_c, or None.

    Inside it solve_at returns v = v*(r) (the minimiser of F, i.e. v = c_s).
    """
    lo = _gap_edge(-1, _C2)
    hi = _gap_edge(+1, _C2)
    if lo is None or hi is None:
        return None
    return lo, hi


def _solve_scalar(r, c2):
    vs = _sonic_v(r)
    fs = _F(vs, r) - c2
    if fs >= 0.0:  # no real root (gap) or exact tangency: take the minimiser
        v = vs
    elif r >= _RC:  # subsonic branch, bracket (0, v*)
        v = brentq(lambda x: _F(x, r) - c2, _VLO, vs, xtol=_XTOL, rtol=_RTOL)
    else:  # supersonic branch, bracket (v*, 1)
        v = brentq(lambda x: _F(x, r) - c2, vs, _VHI, xtol=_XTOL, rtol=_RTOL)
    return _rho_of_v(v, r), v


def solve_at(r, critical: bool = False):
    """Return (rho, v) arrays at radii r (scalar or array-like).

    Subsonic branch for r >= sonic_radius(), supersonic branch below it; in the
    gap (no real root) v = v*(r) = c_s.  critical=True uses C2 = critical_c2()
    (exactly transonic, same C1) instead of the boundary-value C2.
    """
    r_arr = np.asarray(r, dtype=float)
    c2 = _C2_CRIT if critical else _C2
    flat = r_arr.ravel()
    rho = np.empty_like(flat)
    v = np.empty_like(flat)
    for i, ri in enumerate(flat):
        rho[i], v[i] = _solve_scalar(float(ri), c2)
    return rho.reshape(r_arr.shape), v.reshape(r_arr.shape)


def relative_errors(r, rho, v, critical: bool = False) -> dict:
    """Max (and RMS) relative errors of given rho, v arrays against solve_at(r)."""
    r = np.asarray(r, dtype=float)
    rho_ref, v_ref = solve_at(r, critical=critical)
    e_rho = np.abs(np.asarray(rho, dtype=float).reshape(rho_ref.shape) - rho_ref) / np.abs(rho_ref)
    e_v = np.abs(np.asarray(v, dtype=float).reshape(v_ref.shape) - v_ref) / np.abs(v_ref)
    return {
        "rho_max_rel": float(np.max(e_rho)),
        "v_max_rel": float(np.max(e_v)),
        "rho_rms_rel": float(np.sqrt(np.mean(e_rho**2))),
        "v_rms_rel": float(np.sqrt(np.mean(e_v**2))),
        "rho_argmax_r": float(r.ravel()[np.argmax(e_rho)]),
        "v_argmax_r": float(r.ravel()[np.argmax(e_v)]),
    }


# ---------------------------------------------------------------- report
def _profile_report(label, r, rho, v):
    dlnrho = np.gradient(np.log(rho), r)
    dlnv = np.gradient(np.log(v), r)
    i1, i2 = np.argmax(np.abs(dlnrho)), np.argmax(np.abs(dlnv))
    bad_rho = r[:-1][np.diff(rho) >= 0]
    bad_v = r[:-1][np.diff(v) >= 0]
    print(f"  [{label}]")
    print(f"    rho range [{rho.min():.6e}, {rho.max():.6e}], v range [{v.min():.6e}, {v.max():.6e}]")
    print(f"    max |d ln rho/dr| = {abs(dlnrho[i1]):.6e} at r = {r[i1]:.4f}")
    print(f"    max |d ln v/dr|   = {abs(dlnv[i2]):.6e} at r = {r[i2]:.4f}")
    print(f"    rho strictly decreasing in r: {bad_rho.size == 0}"
          + ("" if bad_rho.size == 0 else f" (increases between r={bad_rho[0]:.4f} and next point)"))
    print(f"    v   strictly decreasing in r: {bad_v.size == 0}"
          + ("" if bad_v.size == 0 else f" (increases between r={bad_v[0]:.4f} and next point)"))
    d2 = np.diff(np.log(v), 2)
    j = np.argmax(np.abs(d2))
    print(f"    max |second difference of ln v| = {abs(d2[j]):.3e} at r = {r[j + 1]:.4f}")
    return dlnrho, dlnv


def main():
    t0 = time.perf_counter()
    c1, c2 = constants()
    rc = sonic_radius()
    vs_rc = _sonic_v(rc)
    print("Bondi accretion reference (Schwarzschild, M=1, k=0.1, Gamma=4/3)")
    print(f"  boundary r={R_OUT}: rho={RHO_OUT}, v={V_OUT}")
    print(f"  C1 = {c1:.15e}")
    print(f"  C2 = {c2:.15e}")
    print(f"  C2_crit = Fmin(r_c) = {_C2_CRIT:.15e}  (C2 - C2_crit = {c2 - _C2_CRIT:.3e},"
          f" rel {(c2 - _C2_CRIT) / _C2_CRIT:.3e})")
    print(f"  sonic radius r_c (saddle of F, dF/dv = dF/dr = 0) = {rc:.10f}")
    print(f"    v = c_s at r_c = {vs_rc:.10f}, rho = {_rho_of_v(vs_rc, rc):.10e}")
    g = gap()
    if g is None:
        if c2 > _C2_CRIT:
            # branches separated: report jump at r_c
            v_lo = brentq(lambda x: _F(x, rc) - c2, _VLO, vs_rc, xtol=_XTOL, rtol=_RTOL)
            v_hi = brentq(lambda x: _F(x, rc) - c2, vs_rc, _VHI, xtol=_XTOL, rtol=_RTOL)
            print(f"  no gap: C2 > C2_crit, branches do not touch; jump in v at r_c:"
                  f" {v_lo:.8f} -> {v_hi:.8f} (rel {(v_hi - v_lo) / vs_rc:.3e})")
        else:
            print("  no gap: constants exactly critical")
    else:
        print(f"  gap (no real root, v := argmin F = c_s there): r in [{g[0]:.8f}, {g[1]:.8f}],"
              f" width = {g[1] - g[0]:.6e}")

    print("\n  values vs issue (boundary-value C2 | critical C2):")
    worst = 0.0
    for rr, (rho_e, v_e) in EXPECTED.items():
        rho_b, v_b = solve_at(np.array([rr]))
        rho_c, v_c = solve_at(np.array([rr]), critical=True)
        d_rho, d_v = (rho_b[0] - rho_e) / rho_e, (v_b[0] - v_e) / v_e
        worst = max(worst, abs(d_rho), abs(d_v))
        print(f"    r={rr:6.1f}: rho={rho_b[0]:.9e} (expected {rho_e:.7e}, rel diff {d_rho:+.3e})"
              f" | crit {rho_c[0]:.9e} ({(rho_c[0] - rho_e) / rho_e:+.3e})")
        print(f"              v  ={v_b[0]:.9e} (expected {v_e:.7e}, rel diff {d_v:+.3e})"
              f" | crit {v_c[0]:.9e} ({(v_c[0] - v_e) / v_e:+.3e})")
    print(f"  max rel diff vs issue: {worst:.3e} -> {'PASS' if worst < 1e-5 else 'FAIL'} (tol 1e-5)")

    # Self-consistency: residuals of the conservation laws on a grid.
    r = np.linspace(R_MIN, R_OUT, 24101)  # dr = 0.005
    t1 = time.perf_counter()
    rho, v = solve_at(r)
    t_grid = time.perf_counter() - t1
    lapse = np.sqrt(1 - 2 * M / r)
    res1 = np.abs(rho * v * lapse * r**2 / np.sqrt(1 - v**2) / c1 - 1)
    res2 = np.abs(enthalpy(rho) * lapse / np.sqrt(1 - v**2) / c2 - 1)
    if g is not None:
        outside = (r < g[0]) | (r > g[1])
        res1o, res2o = res1[outside].max(), res2[outside].max()
    else:
        res1o, res2o = res1.max(), res2.max()
    mach = v / sound_speed(rho)
    print(f"\n  fine grid: {r.size} points, dr = {r[1] - r[0]:.4g}, solve time {t_grid:.2f} s")
    print(f"    max rel residual C1 = {res1.max():.2e}, C2 (outside gap) = {res2o:.2e}")
    print(f"    Mach number: {mach[0]:.4f} at r=20, {mach[-1]:.5f} at r=140.5;"
          f" Mach-1 crossing near r = {r[np.argmin(np.abs(mach - 1))]:.4f}")
    _profile_report("boundary-value C2 (default)", r, rho, v)
    rho_c, v_c = solve_at(r, critical=True)
    _profile_report("critical C2 (exactly transonic)", r, rho_c, v_c)
    e = relative_errors(r, rho_c, v_c)
    print(f"    critical vs default: max rel diff rho {e['rho_max_rel']:.3e} (r={e['rho_argmax_r']:.3f}),"
          f" v {e['v_max_rel']:.3e} (r={e['v_argmax_r']:.3f})")

    print("    |default - critical| relative, at r_c -/+ d:")
    for d in (0.01, 0.1, 1.0, 5.0, 10.0):
        rr = np.array([rc - d, rc + d])
        ed = relative_errors(rr, *solve_at(rr, critical=True))
        print(f"      d={d:6.2f}: rho {ed['rho_max_rel']:.2e}, v {ed['v_max_rel']:.2e}")

    # Local behaviour near r_c (fold of the branches at gap edges).
    rn = np.linspace(rc - 0.5, rc + 0.5, 20001)
    rho_n, v_n = solve_at(rn)
    dlnv_n = np.gradient(np.log(v_n), rn)
    print(f"  near r_c (|r - r_c| <= 0.5, dr = {rn[1] - rn[0]:.1e}): max |d ln v/dr| = "
          f"{np.abs(dlnv_n).max():.4e} at r = {rn[np.argmax(np.abs(dlnv_n))]:.6f}")
    rho_nc, v_nc = solve_at(rn, critical=True)
    dlnv_nc = np.gradient(np.log(v_nc), rn)
    print(f"    critical C2: max |d ln v/dr| there = {np.abs(dlnv_nc).max():.4e}")

    print(f"\n  total run time: {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
