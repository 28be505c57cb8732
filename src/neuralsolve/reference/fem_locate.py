"""Finite-element solutions at arbitrary points: the element holding each point and its basis
functions' values there (:mod:`.fem`)."""

from __future__ import annotations


import numpy as np



# ----------------------------------------------------------------------------------------------
# evaluation at arbitrary points


class _Locator:
    """Where points lie in a mesh: the element holding each point, found among the nearest
    centroids, and the values there of the element's basis functions, from the point's reference
    coordinates (by Newton on the possibly curved element map). Points just outside the mesh
    (between a chord and its curve) take the nearest element's polynomials; points more than about
    half an element outside are marked outside. Any function on the mesh is then evaluated at the
    points as ``sum(phi * u[element_dofs[:, cells]], axis=0)``."""

    _NEAR, _WIDER = 8, 40  # candidate elements per point: first try, then for the few missed
    _INSIDE = 1e-9  # tolerance in reference coordinates
    _FAR = 0.3  # reference-coordinate distance beyond which a point is outside the mesh
    _CHUNK = 50_000  # points located together: bounded memory, k candidates × basis × points

    def __init__(self, basis):
        from scipy.spatial import cKDTree

        self.element = basis.elem
        self.element_dofs = basis.element_dofs  # (n_basis, n_elements)
        self.nodes = basis.doflocs[:, basis.element_dofs]  # (2, n_basis, n_elements): the element maps
        self.tree = cKDTree(self.nodes[:, :3].mean(axis=1).T)
        self.n_elements = self.nodes.shape[2]
        # elements whose mid-edge nodes were moved onto a curve: their map is not affine
        self.curved = np.zeros(self.n_elements, bool)
        if self.nodes.shape[1] > 3:
            ref = np.asarray(self.element.doflocs, float)  # (6, 2) nodes of the reference triangle
            weights = np.stack([1 - ref[:, 0] - ref[:, 1], ref[:, 0], ref[:, 1]], axis=1)  # (6, 3)
            affine = np.einsum("dvn,bv->dbn", self.nodes[:, :3], weights)
            scale = np.abs(self.nodes).max() + 1.0
            self.curved = np.abs(self.nodes - affine).max(axis=(0, 1)) > 1e-13 * scale

    def locate(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(cells (k,), phi (n_basis, k), inside (k,) bool)`` for points (k, 2)."""
        points = np.asarray(points, float).reshape(-1, 2)
        found = [self._chunk(points[start : start + self._CHUNK]) for start in range(0, len(points), self._CHUNK)]
        if not found:
            return np.zeros(0, int), np.zeros((self.element_dofs.shape[0], 0)), np.zeros(0, bool)
        cells, phi, inside = zip(*found)
        return np.concatenate(cells), np.concatenate(phi, axis=1), np.concatenate(inside)

    def _chunk(self, points: np.ndarray):
        cells, X, outside = self._locate(points, self._NEAR)
        missed = np.flatnonzero(outside > self._INSIDE)
        if len(missed) and self.n_elements > self._NEAR:
            c2, X2, o2 = self._locate(points[missed], self._WIDER)
            better = o2 < outside[missed]
            cells[missed[better]], X[:, missed[better]], outside[missed[better]] = c2[better], X2[:, better], o2[better]
        phi = np.array([self.element.lbasis(X, i)[0] for i in range(self.element_dofs.shape[0])]).reshape(-1, len(points))
        return cells, phi, outside <= self._FAR

    def _locate(self, points: np.ndarray, k: int):
        """The best of the k nearest elements for each point: (cells, reference coords (2, n), outside-ness)."""
        k = min(k, self.n_elements)
        _, candidates = self.tree.query(points, k)
        candidates = candidates.reshape(len(points), k)
        best_cells = candidates[:, 0].copy()
        best_X = np.zeros((2, len(points)))
        best_out = np.full(len(points), np.inf)
        for j in range(k):
            X = self._reference(points, candidates[:, j])
            with np.errstate(invalid="ignore"):
                out = np.max([-X[0], -X[1], X[0] + X[1] - 1], axis=0)
            out[~np.isfinite(out)] = np.inf
            better = out < best_out
            best_cells[better], best_X[:, better], best_out[better] = candidates[better, j], X[:, better], out[better]
        return best_cells, best_X, best_out

    def _reference(self, points: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Reference coordinates (2, n) of points in elements ``cells``: exact for straight elements."""
        G = self.nodes[:, :3, cells]  # (2, 3, n): the vertices
        X = _solve2(np.stack([G[:, 1] - G[:, 0], G[:, 2] - G[:, 0]], axis=1), points.T - G[:, 0])
        curved = np.flatnonzero(self.curved[cells])
        if len(curved):
            X[:, curved] = self._newton(points[curved], cells[curved], X[:, curved])
        return X

    def _newton(self, points: np.ndarray, cells: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Reference coordinates in curved (quadratic) elements, from the straight element's."""
        G = self.nodes[:, :, cells]  # (2, 6, n)
        with np.errstate(all="ignore"):
            for _ in range(6):  # the map is close to affine: a few Newton steps reach rounding
                values = [self.element.lbasis(X, i) for i in range(G.shape[1])]
                phi = np.array([v[0] for v in values])  # (6, n)
                dphi = np.array([v[1] for v in values])  # (6, 2, n)
                mapped = np.einsum("dbn,bn->dn", G, phi)
                jac = np.einsum("dbn,bkn->dkn", G, dphi)
                X = X + _solve2(jac, points.T - mapped)
        return X


class _Evaluator:
    """Values of one finite-element function (dof vector ``u``) at any points; NaN well outside the mesh."""

    def __init__(self, basis, u: np.ndarray, locator: _Locator | None = None):
        self.locator = _Locator(basis) if locator is None else locator
        self.local = u[basis.element_dofs]  # (n_basis, n_elements)

    def __call__(self, points: np.ndarray) -> np.ndarray:
        cells, phi, inside = self.locator.locate(points)
        values = np.sum(phi * self.local[:, cells], axis=0)
        values[~inside] = np.nan
        return values


def _solve2(m: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Solve the 2×2 systems ``m[:, :, i] X[:, i] = r[:, i]`` at once."""
    with np.errstate(all="ignore"):
        det = m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]
        return np.array([(m[1, 1] * r[0] - m[0, 1] * r[1]) / det, (m[0, 0] * r[1] - m[1, 0] * r[0]) / det])
