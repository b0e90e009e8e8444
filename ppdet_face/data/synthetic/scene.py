"""One synthetic image: background, clutter, distractors, faces with bodies, photometric effects."""
from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

from .background import background, clutter
from .canvas import paste
from .faces import render_distractor, render_face
from .layout import Face, layout, place_distractors
from .palette import rand_color, to_cv_color

__all__ = ["SPLIT_CODE", "render_image"]

#: Split -> the number it contributes to the seed of each image's generator.
SPLIT_CODE = {"train": 0, "val": 1}


def render_image(seed: int, split: str, index: int, kind: str,
                 image_size: Sequence[int] = (320, 640)):
    """Render one synthetic image.

    Args:
        seed (int): master seed; the image's generator is seeded by ``(seed, split, index)``.
        split (str): "train" or "val" (another name gets its own seed stream).
        index (int): image index within the split.
        kind (str): one of ``"scene"``, ``"crowd"``, ``"portrait"``, ``"empty"``.
        image_size (Sequence[int]): ``(min_side, max_side)`` of the random width and height.
            Default: (320, 640).

    Returns:
        tuple: ``(bgr_uint8_image, boxes, points)`` where ``boxes`` is an ``(N, 10)`` int array in WIDER
        column order ``x1 y1 w h blur expression illumination invalid occlusion pose`` and ``points`` the exact
        five landmarks of each face, float64 ``(N, 5, 2)`` (eye centres, nose tip, mouth corners; the
        image-left one of each pair first while the face is upright).
    """
    rng = np.random.default_rng([int(seed), SPLIT_CODE.get(split, 7), int(index), 1])
    W, H = _image_size(rng, kind, image_size)
    img = background(rng, W, H)
    area = W * H / (640.0 * 640.0)
    clutter(rng, img, int(rng.integers(12, 45) * area) + 3)
    faces = layout(rng, kind, W, H)
    _draw_distractors(rng, img, faces, kind)
    label = np.full((H, W), 255, np.uint8)
    masks = _draw_faces(rng, img, label, faces)
    rows, points = _annotation_rows(faces, masks, label)
    img = _photometric_effects(rng, img)
    return img, np.array(rows, dtype=np.int64).reshape(-1, 10), np.array(points, np.float64).reshape(-1, 5, 2)


def _image_size(rng, kind: str, size_range: Sequence[int]) -> tuple[int, int]:
    lo, hi = int(size_range[0]), int(size_range[1])
    if kind == "crowd":
        lo = max(lo, int(0.75 * hi))
    W = int(rng.integers(lo, hi + 1))
    H = int(rng.integers(lo, hi + 1))
    return W, H


def _draw_body(rng, img, label, f: Face, clothes) -> None:
    """Shoulders and torso below a face (label 254 in ``label``: an occluder of faces behind)."""
    H, W = img.shape[:2]
    top = f.cy + 1.25 * f.b
    ax = (max(1, int(f.a * rng.uniform(1.7, 2.2))), max(1, int(f.b * 1.1)))
    c = (int(round(f.cx - math.sin(math.radians(f.theta)) * 1.3 * f.b)), int(round(top + ax[1])))
    bottom = min(H, int(c[1] + f.b * rng.uniform(1.0, 6.0)))
    cv2.ellipse(img, c, ax, 0, 180, 360, to_cv_color(clothes), -1, cv2.LINE_AA)
    cv2.rectangle(img, (c[0] - ax[0], c[1]), (c[0] + ax[0], bottom), to_cv_color(clothes), -1)
    if label is not None:
        cv2.ellipse(label, c, ax, 0, 180, 360, 254, -1)
        cv2.rectangle(label, (c[0] - ax[0], c[1]), (c[0] + ax[0], bottom), 254, -1)


def _draw_distractors(rng, img: np.ndarray, faces: list[Face], kind: str) -> None:
    """Face-coloured non-faces (backs of heads mostly with a body) away from the faces."""
    H, W = img.shape[:2]
    n_dis = int(rng.integers(2, 8) if kind != "crowd" else rng.integers(1, 4))
    if kind == "empty":
        n_dis += 3
    for (dk, cx, cy, a, b, th) in place_distractors(rng, faces, W, H, n_dis):
        tpl = render_distractor(rng, a, b, dk)
        if dk == "back" and rng.random() < 0.8:
            _draw_body(rng, img, None, Face(cx, cy, a, b, th, None, None), rand_color(rng))
        paste(img, None, tpl, cx, cy, th, float(rng.uniform(0, 1.0)), 0)


def _draw_faces(rng, img: np.ndarray, label: np.ndarray, faces: list[Face]) -> dict[int, tuple]:
    """Draw the faces back to front; fill each face's ``attrs``; returns {index: (x0, y0, mask)}."""
    order = sorted(range(len(faces)), key=lambda i: faces[i].box[3])
    masks: dict[int, tuple] = {}
    for i in order:
        f = faces[i]
        if rng.random() < 0.85:
            _draw_body(rng, img, label, f, np.array(rand_color(rng), np.float32) * 0.8)
        tpl, info = render_face(rng, f.a, f.b)
        r = rng.random()
        if r < 0.6 or f.a < 8:
            blur_lvl, blur_px = 0, 0.0
        elif r < 0.9:
            blur_lvl, blur_px = 1, float(rng.uniform(0.5, 1.2))
        else:
            blur_lvl, blur_px = 2, float(min(rng.uniform(1.2, 2.5), 0.12 * f.a))
        x0, y0, wf = paste(img, label, tpl, f.cx, f.cy, f.theta, blur_px, i)
        m = wf >= 0.5
        ys, xs = np.nonzero(m)
        masks[i] = (x0, y0, m)
        bx1, by1 = x0 + int(xs.min()), y0 + int(ys.min())
        bx2, by2 = x0 + int(xs.max()) + 1, y0 + int(ys.max()) + 1
        th = math.radians(f.theta)
        rot = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]]) / tpl.k
        f.attrs = dict(box=(bx1, by1, bx2 - bx1, by2 - by1), blur=blur_lvl,
                       expression=tpl.expression, illumination=info["illumination"],
                       pose=int(abs(f.theta) > 20),
                       points=info["points"] @ rot.T + np.array([f.cx, f.cy]))  # as paste() maps the template
    return masks


def _annotation_rows(faces: list[Face], masks: dict[int, tuple], label: np.ndarray) -> tuple[list, list]:
    """WIDER rows of the faces (occlusion from the visible fraction), top-to-bottom, left-to-right, and each
    face's five landmarks in the same order."""
    rows = []
    for i, f in enumerate(faces):
        x0, y0, m = masks[i]
        h, w = m.shape
        vis = float(np.count_nonzero(label[y0:y0 + h, x0:x0 + w][m] == i)) / max(1, m.sum())
        occ = 0 if vis >= 0.9 else (1 if vis >= 0.6 else 2)
        bx, by, bw, bh = f.attrs["box"]
        rows.append(([bx, by, bw, bh, f.attrs["blur"], f.attrs["expression"],
                      f.attrs["illumination"], 0, occ, f.attrs["pose"]], f.attrs["points"]))
    # annotation order: top-to-bottom, left-to-right (like a human annotator would)
    rows.sort(key=lambda r: (r[0][1] // 16, r[0][0]))
    return [r for r, _ in rows], [p for _, p in rows]


def _photometric_effects(rng, img: np.ndarray) -> np.ndarray:
    """Global lighting gradient (half the images), sensor noise, and sometimes a slight blur."""
    H, W = img.shape[:2]
    if rng.random() < 0.5:
        phi = rng.uniform(0, 2 * math.pi)
        s = rng.uniform(0.05, 0.3)
        xs_ = np.linspace(-1, 1, W, dtype=np.float32)[None, :]
        ys_ = np.linspace(-1, 1, H, dtype=np.float32)[:, None]
        g = 1.0 + s * (xs_ * math.cos(phi) + ys_ * math.sin(phi))
        img = np.clip(img.astype(np.float32) * g[..., None] + 0.5, 0, 255).astype(np.uint8)
    # sensor noise; OpenCV's RNG (seeded from this image's generator) is ~4x faster
    # than numpy's normal sampler for a full image
    noise = np.empty((H, W, 3), np.int16)
    cv2.setRNGSeed(int(rng.integers(1, 2**31 - 1)))
    cv2.randn(noise, 0.0, float(rng.uniform(1.0, 6.0)))
    img = cv2.add(img, noise, dtype=cv2.CV_8U)
    if rng.random() < 0.12:
        img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.5, 1.0)))
    return img
