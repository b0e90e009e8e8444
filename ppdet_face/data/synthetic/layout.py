"""Scene layout: where faces (scene, crowd, portrait) and distractors go, without heavy overlap."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .canvas import ellipse_extent

__all__ = ["Face", "layout", "place_distractors"]


@dataclass
class Face:
    """A placed face: ellipse centre, half-axes and rotation, its box and its annotation attributes."""

    cx: float
    cy: float
    a: float
    b: float
    theta: float
    box: np.ndarray                   # analytic x1 y1 x2 y2 (float)
    ext: np.ndarray                   # box grown by hair (occluder extent)
    attrs: dict = field(default_factory=dict)


def _face_geometry(rng, w: float):
    a = w / 2.0
    b = a * rng.uniform(1.12, 1.3)
    theta = float(np.clip(rng.normal(0, 8), -28, 28))
    return a, b, theta


def _try_place(rng, faces: list, W: int, H: int, w: float, cy_fixed: float | None = None,
               max_overlap: float = 0.3):
    """A face of width ``w`` at a random spot that overlaps the others little, or None."""
    a, b, theta = _face_geometry(rng, w)
    hw, hh = ellipse_extent(a, b, theta)
    if 2 * hw > W - 6 or 2 * hh > H - 6:
        return None
    cx = rng.uniform(hw + 2, W - hw - 3)
    cy = cy_fixed if cy_fixed is not None else rng.uniform(hh + 2, H - hh - 3)
    cy = float(np.clip(cy, hh + 2, H - hh - 3))
    box = np.array([cx - hw, cy - hh, cx + hw, cy + hh])
    bw, bh = 2 * hw, 2 * hh
    ext = np.array([box[0] - 0.15 * bw, box[1] - 0.22 * bh, box[2] + 0.15 * bw, box[3]])
    if faces:
        boxes = np.array([f.box for f in faces])
        exts = np.array([f.ext for f in faces])
        area_old = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])

        def inter(p, q):
            iw = np.minimum(p[..., 2], q[..., 2]) - np.maximum(p[..., 0], q[..., 0])
            ih = np.minimum(p[..., 3], q[..., 3]) - np.maximum(p[..., 1], q[..., 1])
            return np.clip(iw, 0, None) * np.clip(ih, 0, None)

        if np.any(inter(ext[None], boxes) / area_old > max_overlap):
            return None
        if np.any(inter(exts, box[None]) / (bw * bh) > max_overlap):
            return None
    return Face(cx, cy, a, b, theta, box, ext)


def layout(rng, kind: str, W: int, H: int) -> list[Face]:
    """The faces of an image of ``kind`` ("scene", "crowd", "portrait" or "empty"), W x H px."""
    faces: list[Face] = []
    if kind == "empty":
        return faces
    short = min(W, H)
    if kind == "crowd":
        return _crowd(rng, W, H)
    if kind == "portrait":
        n = int(rng.choice([1, 1, 2, 2, 3]))
        lo, hi = 70.0, min(300.0, 0.62 * short / 1.25)
        lo = min(lo, hi * 0.7)
        sizes = np.exp(rng.uniform(math.log(lo), math.log(hi), n))
    else:  # scene
        n = int(min(16, 1 + rng.poisson(3.5)))
        hi = min(210.0, 0.6 * short / 1.25)
        sizes = np.exp(rng.uniform(math.log(10), math.log(hi), n))
        if rng.random() < 0.08:   # occasionally one very large face
            sizes[0] = min(300.0, 0.7 * short / 1.25) * rng.uniform(0.85, 1.0)
    for w in sorted(sizes, reverse=True):
        for _ in range(60):
            f = _try_place(rng, faces, W, H, float(w))
            if f is not None:
                faces.append(f)
                break
    return faces


def _crowd(rng, W: int, H: int) -> list[Face]:
    """30-60 small faces, larger towards the bottom (perspective)."""
    faces: list[Face] = []
    target = int(rng.integers(30, 61))
    wmin = rng.uniform(12, 16)
    wmax = rng.uniform(24, 40)
    top = rng.uniform(0.05, 0.25) * H
    tries = 0
    while len(faces) < target and tries < 60 * target:
        tries += 1
        cy = rng.uniform(top, H)
        t = (cy - top) / max(1.0, H - top)
        w = (wmin + (wmax - wmin) * t) * rng.uniform(0.85, 1.15)
        f = _try_place(rng, faces, W, H, w, cy_fixed=cy, max_overlap=0.25)
        if f is not None:
            faces.append(f)
    return faces


def place_distractors(rng, faces: list[Face], W: int, H: int, n: int):
    """Up to ``n`` distractors away from the faces: ``[(kind, cx, cy, a, b, theta)]``."""
    out = []
    boxes = np.array([f.box for f in faces]) if faces else np.zeros((0, 4))
    for _ in range(n):
        kind = str(rng.choice(["blob", "hand", "arm", "back"], p=[0.45, 0.2, 0.15, 0.2]))
        w = math.exp(rng.uniform(math.log(10), math.log(min(180.0, 0.5 * min(W, H)))))
        a = w / 2
        b = a * (rng.uniform(0.8, 1.5) if kind == "blob" else rng.uniform(1.1, 1.3))
        for _ in range(20):
            cx, cy = rng.uniform(0, W), rng.uniform(0, H)
            r = 1.6 * max(a, b)
            cand = np.array([cx - r, cy - r, cx + r, cy + r])
            if len(boxes):
                iw = np.minimum(cand[2], boxes[:, 2]) - np.maximum(cand[0], boxes[:, 0])
                ih = np.minimum(cand[3], boxes[:, 3]) - np.maximum(cand[1], boxes[:, 1])
                area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
                if np.any(np.clip(iw, 0, None) * np.clip(ih, 0, None) / area > 0.15):
                    continue
            theta = rng.uniform(-180, 180) if kind in ("hand", "arm", "blob") else rng.normal(0, 8)
            out.append((kind, cx, cy, a, b, float(theta)))
            break
    return out
