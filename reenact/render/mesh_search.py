"""Where points lie in a triangle mesh: barycentric weights, the triangle that holds a point
among candidates, and the candidates (a triangle's neighbours, the triangles whose box holds
the point). `reenact.render.field` places its grid's samples with them."""

from __future__ import annotations

import numpy as np


def barycentric(points: np.ndarray, triangles: np.ndarray, owner: np.ndarray, at: np.ndarray):
    """Barycentric weights (Q,3) of points `at` (Q,2) in triangles[owner] (owner -1 -> any)."""
    tri = triangles[np.maximum(owner, 0)]
    a, b, c = points[tri[:, 0]], points[tri[:, 1]], points[tri[:, 2]]
    v0, v1, v2 = b - a, c - a, at - a
    den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    den = np.where(np.abs(den) < 1e-9, 1e-9, den)
    wb = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / den
    wc = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / den
    return np.stack([1.0 - wb - wc, wb, wc], axis=1)


def signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(T,) twice the signed area of each triangle of (P,2) points."""
    a, b, c = points[triangles[:, 0]], points[triangles[:, 1]], points[triangles[:, 2]]
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1])


def vertex_neighbours(triangles: np.ndarray) -> np.ndarray:
    """(T,C) int: per triangle, every triangle sharing a vertex with it (itself included),
    ascending, padded with -1."""
    count = len(triangles)
    flat = triangles.reshape(-1)
    order = np.argsort(flat, kind="stable")
    tri = np.repeat(np.arange(count), 3)[order]  # each corner's triangle, grouped by vertex
    size = np.bincount(flat)[flat[order]]  # each corner's vertex's number of triangles
    first = np.repeat(np.cumsum(size) - size, size)  # every corner with each of its group's
    start = np.searchsorted(flat[order], flat[order])
    other = tri[np.repeat(start, size) + np.arange(len(first)) - first]
    pairs = np.unique(np.repeat(tri, size) * count + other)
    rows, near = pairs // count, pairs % count
    width = np.bincount(rows, minlength=count)
    out = np.full((count, int(width.max())), -1, np.int64)
    out[rows, np.arange(len(rows)) - np.repeat(np.cumsum(width) - width, width)] = near
    return out


def _cross(ux, uy, vx, vy, wx, wy) -> np.ndarray:
    return (ux - wx) * (vy - wy) - (vx - wx) * (uy - wy)


def locate(points: np.ndarray, triangles: np.ndarray, query: np.ndarray, candidates: np.ndarray):
    """For each query point (Q,2): the last (highest-index) non-degenerate triangle among its
    candidates (Q,C) (-1 = padding) that contains it, or -1."""
    valid = candidates >= 0
    at = np.where(valid, candidates, 0)
    xs, ys = np.ascontiguousarray(points[:, 0]), np.ascontiguousarray(points[:, 1])
    corners = [(xs[triangles[:, k]], ys[triangles[:, k]]) for k in range(3)]  # (T,) x and y
    area = _cross(*corners[1], *corners[2], *corners[0])[at]
    a, b, c = ((x[at], y[at]) for x, y in corners)  # (Q,C) x and y
    p = (query[:, :1], query[:, 1:2])
    d1, d2, d3 = _cross(*p, *a, *b), _cross(*p, *b, *c), _cross(*p, *c, *a)
    eps = 1e-6 * np.abs(area)
    neg = (d1 < -eps) | (d2 < -eps) | (d3 < -eps)
    pos = (d1 > eps) | (d2 > eps) | (d3 > eps)
    inside = ~(neg & pos) & valid & (np.abs(area) > 1e-2)  # degenerate triangles own nothing
    return np.where(inside, candidates, -1).max(axis=1)


def boxed(points: np.ndarray, triangles: np.ndarray, query: np.ndarray) -> np.ndarray:
    """(Q,C) candidates for `locate`: for each query point every triangle whose bounding box
    holds it (a point a triangle holds lies within 1e-3 px of it), descending, padded with -1."""
    a, b, c = points[triangles[:, 0]], points[triangles[:, 1]], points[triangles[:, 2]]
    low = np.minimum(np.minimum(a, b), c) - 1e-2  # (T,2)
    high = np.maximum(np.maximum(a, b), c) + 1e-2
    x, y = query[:, :1], query[:, 1:2]
    held = (x >= low[:, 0]) & (x <= high[:, 0]) & (y >= low[:, 1]) & (y <= high[:, 1])  # (Q,T)
    rows, found = np.nonzero(held)  # by row, ascending within each
    count = np.bincount(rows, minlength=len(query))
    out = np.full((len(query), max(int(count.max(initial=0)), 1)), -1, np.int64)
    rank = np.arange(len(rows)) - np.repeat(np.cumsum(count) - count, count)
    out[rows, count[rows] - 1 - rank] = found  # descending
    return out
