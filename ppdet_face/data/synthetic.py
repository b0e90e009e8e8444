"""Synthetic face-detection data in the exact official WIDER FACE layout.

The generator draws cluttered scenes with cartoon-like but clearly face-structured
"faces" (skin-toned ellipse, eyes, eyebrows, nose, mouth, hair, ears, neck and
shoulders, random rotation, lighting and blur) plus non-face distractors that share
the faces' colours (feature-less skin blobs, hands, arms, backs of heads), so a
detector has to learn face *structure* rather than skin colour.  It is meant for
smoke tests, CI and quick training runs without the real (1.9 GB) WIDER FACE.

Layout written under ``root`` (identical to the official one, so a
``WIDERFaceDataSet`` with ``dataset_dir=root`` reads it as is)::

    WIDER_train/images/<event>/<name>.jpg
    WIDER_val/images/<event>/<name>.jpg
    wider_face_split/wider_face_train_bbx_gt.txt
    wider_face_split/wider_face_val_bbx_gt.txt
    wider_face_split/difficulty_easy_medium_hard.txt   (val only)
    SYNTHETIC_WIDER.txt                                 (marker: generator + parameters)

Annotation format (official): per image a line ``<event>/<name>.jpg``, a line with
the face count, then one line per face ``x1 y1 w h blur expression illumination
invalid occlusion pose`` (integers).  Like the official files, an image without faces
has count ``0`` followed by one line ``0 0 0 0 0 0 0 0 0 0``.

The box is the tight integer box (``x1, y1`` inclusive, ``w, h`` in pixels) around the
rendered face ellipse (forehead to chin, cheek to cheek; hair, ears and neck are
outside), like a WIDER box.  Attribute columns are filled sensibly: blur 0/1/2
(clear / normal / heavy), expression 1 for an open mouth, illumination 1 for extreme
lighting, invalid always 0, occlusion 0/1/2 from the visible fraction of the face
(>= 0.9 / >= 0.6 / less), pose 1 for an in-plane rotation above 20 degrees.

Difficulty (``difficulty_easy_medium_hard.txt``, same format as the official subset in
``shared/data/wider_face_val_subset``: per image three lines ``<event>/<name>.jpg
easy: i j ...`` with the 1-based indices of the faces a setting keeps).  Here the
settings are defined purely by face size, ``s = min(w, h)`` of the GT box:

    easy   : s >= 48 px
    medium : s >= 24 px
    hard   : s >=  8 px   (all faces the generator draws; the smallest is 10 px wide)

so easy is a subset of medium, which is a subset of hard.

Everything is deterministic: each image uses its own RNG seeded by
``(seed, split, index)``, so the same seed gives byte-identical annotation files (and,
with the same OpenCV build, byte-identical JPEGs), independent of ``workers``.

The annotation and difficulty files are written (and read back) by :mod:`eval_tools.wider_format`,
the one implementation of the WIDER formats.

Only numpy, OpenCV, tqdm, ``eval_tools`` and the standard library are used (no paddle / ppdet).
"""

from __future__ import annotations

import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np

from eval_tools.wider_format import DEFAULT_DIFFICULTY_NAME, read_gt_txt, write_difficulty_file, write_gt_txt

__all__ = [
    "DIFFICULTY_MIN_SIZE",
    "EVENTS",
    "generate_wider_dataset",
    "render_image",
    "save_preview",
]

#: Minimum ``min(w, h)`` of a GT box (pixels) for a face to count in each setting.
DIFFICULTY_MIN_SIZE = {"easy": 48, "medium": 24, "hard": 8}

#: Image kind -> WIDER event folder name.
EVENTS = {
    "scene": "0--Synthetic",
    "crowd": "1--Crowd",
    "portrait": "2--Portrait",
}

MARKER = "SYNTHETIC_WIDER.txt"
_SPLIT_CODE = {"train": 0, "val": 1}

# --------------------------------------------------------------------------- colours
# Skin tones from very light to very dark (RGB, converted to BGR below).
_SKIN_RGB = [
    (255, 224, 196), (250, 208, 172), (241, 194, 125), (234, 184, 146),
    (224, 172, 105), (214, 160, 122), (198, 134, 66), (176, 124, 94),
    (141, 85, 36), (124, 84, 62), (96, 60, 34), (72, 46, 30),
]
_SKIN_BGR = np.array([c[::-1] for c in _SKIN_RGB], dtype=np.float32)
_HAIR_BGR = np.array([
    (18, 18, 22), (22, 22, 28), (28, 38, 58), (30, 50, 85), (45, 75, 115),
    (105, 170, 215), (60, 95, 165), (140, 140, 145), (210, 210, 215), (35, 30, 30),
], dtype=np.float32)
_HAIR_P = np.array([0.2, 0.15, 0.15, 0.12, 0.1, 0.08, 0.05, 0.07, 0.03, 0.05])
_IRIS_BGR = np.array([
    (35, 60, 100), (25, 30, 40), (160, 115, 70), (85, 135, 80), (50, 95, 120),
], dtype=np.float32)
_LIP_TINT = np.array([70, 60, 185], dtype=np.float32)


def _skin(rng: np.random.Generator) -> np.ndarray:
    c = _SKIN_BGR[rng.integers(len(_SKIN_BGR))] + rng.normal(0, 7, 3)
    return np.clip(c, 20, 255).astype(np.float32)


def _hair(rng: np.random.Generator) -> np.ndarray:
    c = _HAIR_BGR[rng.choice(len(_HAIR_BGR), p=_HAIR_P)] + rng.normal(0, 6, 3)
    return np.clip(c, 5, 250).astype(np.float32)


def _rand_color(rng: np.random.Generator) -> tuple:
    return tuple(float(v) for v in rng.integers(0, 256, 3))


def _tc(c) -> tuple:
    """Colour as a tuple of python floats for cv2."""
    return tuple(float(v) for v in np.clip(c, 0, 255))


# --------------------------------------------------------------------------- template
_SHIFT = 3
_ONE = 1 << _SHIFT


@dataclass
class _Template:
    color: np.ndarray          # L x L x 3 float32 (BGR)
    alpha: np.ndarray          # L x L float32 in [0, 1]
    fmask: np.ndarray          # L x L float32 in [0, 1], face ellipse only
    k: float                   # render scale (template px per target px)
    expression: int = 0


class _Canvas:
    """Square drawing canvas with its origin at the centre, sub-pixel drawing."""

    def __init__(self, half: int):
        self.S = half
        self.L = 2 * half
        self.color = np.zeros((self.L, self.L, 3), np.uint8)
        self.alpha = np.zeros((self.L, self.L), np.uint8)

    def p(self, x, y):
        return (int(round((self.S + x) * _ONE)), int(round((self.S + y) * _ONE)))

    @staticmethod
    def ax(a, b):
        return (max(1, int(round(a * _ONE))), max(1, int(round(b * _ONE))))

    def ellipse(self, x, y, a, b, color, angle=0.0, start=0, end=360, thick=-1, alpha=True):
        t = thick if thick < 0 else max(1, int(round(thick)))
        cv2.ellipse(self.color, self.p(x, y), self.ax(a, b), angle, start, end, _tc(color),
                    t, cv2.LINE_AA, _SHIFT)
        if alpha:
            cv2.ellipse(self.alpha, self.p(x, y), self.ax(a, b), angle, start, end, 255,
                        t, cv2.LINE_AA, _SHIFT)

    def line(self, x1, y1, x2, y2, color, thick, alpha=True):
        t = max(1, int(round(thick)))
        cv2.line(self.color, self.p(x1, y1), self.p(x2, y2), _tc(color), t, cv2.LINE_AA, _SHIFT)
        if alpha:
            cv2.line(self.alpha, self.p(x1, y1), self.p(x2, y2), 255, t, cv2.LINE_AA, _SHIFT)

    def poly(self, pts, color, alpha=True):
        arr = np.array([[self.p(x, y) for x, y in pts]], np.int32)
        cv2.fillPoly(self.color, arr, _tc(color), cv2.LINE_AA, _SHIFT)
        if alpha:
            cv2.fillPoly(self.alpha, arr, 255, cv2.LINE_AA, _SHIFT)


def _lighting(cv: _Canvas, a0: float, b0: float, rng: np.random.Generator,
              strength: float, brightness: float, rim: float) -> np.ndarray:
    """Directional light + darker rim (3-D look) applied to the template colour."""
    L, S = cv.L, cv.S
    coords = (np.arange(L, dtype=np.float32) - S)
    xn = coords[None, :] / a0
    yn = coords[:, None] / b0
    phi = rng.uniform(0, 2 * math.pi)
    shade = brightness * (1.0 + strength * 0.5 * (xn * math.cos(phi) + yn * math.sin(phi)))
    r2 = np.minimum(xn * xn + yn * yn, 1.0)
    shade = shade * (1.0 - rim * r2 * r2)
    return cv.color.astype(np.float32) * np.clip(shade, 0.15, 2.0)[..., None]


def _render_face(rng: np.random.Generator, a: float, b: float) -> tuple[_Template, dict]:
    """Render a face (target half-axes a, b px) into an upright template."""
    k = max(1.0, 36.0 / a)
    a0, b0 = a * k, b * k
    cv = _Canvas(int(math.ceil(1.75 * b0)) + 4)
    skin = _skin(rng)
    hair = _hair(rng)
    style = rng.choice(["short", "long", "bald", "hat", "curly", "bun"],
                       p=[0.38, 0.27, 0.08, 0.09, 0.1, 0.08])
    info = {"style": str(style)}

    # neck (behind the face)
    nw = a0 * rng.uniform(0.4, 0.55)
    cv.poly([(-nw, 0.3 * b0), (nw, 0.3 * b0), (nw * 1.1, 1.5 * b0), (-nw * 1.1, 1.5 * b0)],
            skin * 0.72)

    # hair behind the head
    if style == "long":
        hb = rng.uniform(0.9, 1.45)
        cv.ellipse(0, -0.08 * b0, a0 * 1.2, b0 * 1.08, hair)
        cv.poly([(-a0 * 1.2, -0.1 * b0), (a0 * 1.2, -0.1 * b0),
                 (a0 * 1.25, hb * b0), (-a0 * 1.25, hb * b0)], hair)
    elif style in ("short", "bun"):
        cv.ellipse(0, -0.3 * b0, a0 * 1.08, b0 * 0.85, hair, start=180, end=360)
        if style == "bun":
            cv.ellipse(0, -1.12 * b0, a0 * 0.42, a0 * 0.36, hair * 0.9)
    elif style == "curly":
        for ang in np.linspace(math.pi * 0.95, math.pi * 2.05, 11):
            r = rng.uniform(0.26, 0.36) * a0
            cv.ellipse(math.cos(ang) * a0 * 0.98, -0.25 * b0 + math.sin(ang) * b0 * 0.85, r, r, hair)

    # ears
    if style != "long" and rng.random() < 0.85:
        for sgn in (-1, 1):
            cv.ellipse(sgn * a0 * 0.97, 0.02 * b0, a0 * 0.16, b0 * 0.24, skin * 0.88)
            cv.ellipse(sgn * a0 * 0.99, 0.02 * b0, a0 * 0.06, b0 * 0.12, skin * 0.7, alpha=False)

    # face
    cv.ellipse(0, 0, a0, b0, skin)
    fmask = np.zeros((cv.L, cv.L), np.uint8)
    cv2.ellipse(fmask, cv.p(0, 0), cv.ax(a0, b0), 0, 0, 360, 255, -1, cv2.LINE_AA, _SHIFT)

    # beard (clipped to the face)
    if rng.random() < 0.08 and style != "long":
        tmp = cv.color.copy()
        cv2.ellipse(tmp, cv.p(0, 0.4 * b0), cv.ax(a0 * 1.02, b0 * 0.66), 0, 0, 180,
                    _tc(hair * 1.1 + 15), -1, cv2.LINE_AA, _SHIFT)
        m = fmask > 127
        cv.color[m] = tmp[m]

    # hair on the forehead / hat
    if style in ("short", "long", "curly", "bun"):
        depth = rng.uniform(0.45, 0.72)          # where the fringe ends (fraction of b)
        tilt = rng.uniform(-14, 14)
        cx = rng.uniform(-0.1, 0.1) * a0
        cy = -(1.0 + depth) / 2 * b0 - 0.04 * b0
        lower = (1.0 - depth) / 2 * b0 * 0.35
        cv.ellipse(cx, cy, a0 * 1.03, (1.0 - depth) / 2 * b0 + 0.1 * b0, hair,
                   angle=tilt, start=180, end=360)
        cv.ellipse(cx, cy, a0 * 1.0, lower, hair, angle=tilt)
        # a few strands for texture (they stay inside the fringe)
        for _ in range(3):
            sx = rng.uniform(-0.55, 0.55) * a0
            cv.line(sx, cy - 0.6 * ((1.0 - depth) / 2 * b0 + 0.1 * b0),
                    sx + rng.uniform(-0.15, 0.15) * a0, cy + 0.4 * lower,
                    hair * 0.65, max(1.0, 0.03 * a0), alpha=False)
    elif style == "hat":
        hat = np.array(_rand_color(rng), np.float32)
        cv.ellipse(0, -0.58 * b0, a0 * 1.0, b0 * 0.62, hat, start=180, end=360)
        cv.ellipse(0, -0.58 * b0, a0 * rng.uniform(1.1, 1.45), b0 * 0.11, hat * 0.8)

    # eyebrows
    ex = a0 * rng.uniform(0.33, 0.41)
    ey = -b0 * rng.uniform(0.06, 0.16)
    brow = hair * 0.8 if rng.random() < 0.8 else np.array([25, 25, 30], np.float32)
    by = ey - b0 * rng.uniform(0.15, 0.22)
    btilt = rng.uniform(-12, 12)
    bthick = max(1.0, a0 * rng.uniform(0.045, 0.075))
    for sgn in (-1, 1):
        cv.ellipse(sgn * ex, by + 0.05 * b0, a0 * 0.2, b0 * 0.07, brow, angle=sgn * btilt,
                   start=200, end=340, thick=bthick, alpha=False)

    # eyes
    eye_kind = rng.choice(["open", "closed", "sunglasses", "glasses"], p=[0.76, 0.07, 0.07, 0.1])
    ea, eb = a0 * rng.uniform(0.14, 0.18), a0 * rng.uniform(0.07, 0.095)
    iris = _IRIS_BGR[rng.integers(len(_IRIS_BGR))]
    look = rng.uniform(-0.3, 0.3) * ea
    for sgn in (-1, 1):
        x = sgn * ex
        if eye_kind == "closed":
            cv.ellipse(x, ey - eb * 0.3, ea, eb, skin * 0.4, start=20, end=160,
                       thick=max(1.0, 0.04 * a0), alpha=False)
            continue
        if eye_kind == "sunglasses":
            continue
        cv.ellipse(x, ey, ea * 1.12, eb * 1.35, skin * 0.72, alpha=False)   # eye socket shadow
        cv.ellipse(x, ey, ea, eb, (232, 236, 240), alpha=False)
        cv.ellipse(x + look, ey, eb * 0.95, eb * 0.95, iris, alpha=False)
        cv.ellipse(x + look, ey, eb * 0.45, eb * 0.45, (12, 12, 12), alpha=False)
        cv.ellipse(x + look + eb * 0.3, ey - eb * 0.3, eb * 0.18, eb * 0.18, (250, 250, 250),
                   alpha=False)
        cv.ellipse(x, ey, ea, eb, skin * 0.35, thick=max(1.0, 0.02 * a0), alpha=False)
    if eye_kind == "sunglasses":
        g = np.array([20, 20, 22], np.float32) + rng.uniform(0, 40)
        for sgn in (-1, 1):
            cv.ellipse(sgn * ex, ey, a0 * 0.23, a0 * 0.15, g, alpha=False)
        cv.line(-ex + a0 * 0.2, ey, ex - a0 * 0.2, ey, g, max(1.0, 0.04 * a0), alpha=False)
    elif eye_kind == "glasses":
        fr = np.array(_rand_color(rng), np.float32) * 0.5
        for sgn in (-1, 1):
            cv.ellipse(sgn * ex, ey, a0 * 0.24, a0 * 0.17, fr, thick=max(1.0, 0.035 * a0),
                       alpha=False)
        cv.line(-ex + a0 * 0.24, ey, ex - a0 * 0.24, ey, fr, max(1.0, 0.035 * a0), alpha=False)

    # nose
    ny = b0 * rng.uniform(0.22, 0.32)
    nside = rng.choice([-1, 1])
    cv.line(nside * 0.03 * a0, ey + 0.05 * b0, nside * 0.08 * a0, ny, skin * 0.78,
            max(1.0, 0.035 * a0), alpha=False)
    cv.ellipse(0, ny, a0 * 0.13, b0 * 0.06, skin * 0.7, start=0, end=180,
               thick=max(1.0, 0.035 * a0), alpha=False)
    for sgn in (-1, 1):
        cv.ellipse(sgn * 0.07 * a0, ny + 0.01 * b0, a0 * 0.035, a0 * 0.025, skin * 0.45,
                   alpha=False)

    # mouth
    my = b0 * rng.uniform(0.5, 0.6)
    mw = a0 * rng.uniform(0.24, 0.36)
    lip = skin * 0.5 + _LIP_TINT * 0.5
    mouth = rng.choice(["smile", "neutral", "teeth", "open"], p=[0.35, 0.3, 0.2, 0.15])
    expression = 0
    if mouth == "smile":
        cv.ellipse(0, my - 0.08 * b0, mw, b0 * 0.1, lip, start=10, end=170,
                   thick=max(1.0, 0.06 * a0), alpha=False)
    elif mouth == "neutral":
        cv.ellipse(0, my, mw, b0 * 0.045, lip, alpha=False)
        cv.line(-mw, my, mw, my, lip * 0.55, max(1.0, 0.025 * a0), alpha=False)
    elif mouth == "teeth":
        cv.ellipse(0, my - 0.04 * b0, mw, b0 * 0.12, (225, 235, 240), start=0, end=180, alpha=False)
        cv.ellipse(0, my - 0.04 * b0, mw, b0 * 0.12, lip, start=0, end=180,
                   thick=max(1.0, 0.045 * a0), alpha=False)
        cv.line(-mw, my - 0.04 * b0, mw, my - 0.04 * b0, lip, max(1.0, 0.045 * a0), alpha=False)
    else:
        expression = 1
        cv.ellipse(0, my, mw * 0.6, b0 * 0.13, (40, 30, 70), alpha=False)
        cv.ellipse(0, my, mw * 0.6, b0 * 0.13, lip, thick=max(1.0, 0.05 * a0), alpha=False)

    # lighting
    strength = rng.uniform(0.0, 0.55)
    brightness = rng.uniform(0.62, 1.3)
    # keep very dark skin under dim light from turning into a feature-less black blob
    lum = float(skin @ np.array([0.114, 0.587, 0.299], np.float32))
    brightness = max(brightness, 60.0 / max(lum, 1.0))
    color = _lighting(cv, a0, b0, rng, strength, brightness, rim=rng.uniform(0.1, 0.3))
    info["illumination"] = int(brightness < 0.68 or brightness > 1.26 or strength > 0.5)
    tpl = _Template(color, cv.alpha.astype(np.float32) / 255.0,
                    fmask.astype(np.float32) / 255.0, k, expression)
    return tpl, info


def _render_distractor(rng: np.random.Generator, a: float, b: float, kind: str) -> _Template:
    """Face-sized non-face objects in face colours (no face structure)."""
    k = max(1.0, 24.0 / min(a, b))
    a0, b0 = a * k, b * k
    half = int(math.ceil(1.9 * max(a0, b0))) + 4
    cv = _Canvas(half)
    skin = _skin(rng)
    if kind == "blob":
        cv.ellipse(0, 0, a0, b0, skin)
        if rng.random() < 0.3:   # a random mark that is not an eye pair
            cv.ellipse(rng.uniform(-0.4, 0.4) * a0, rng.uniform(-0.5, 0.5) * b0,
                       0.12 * a0, 0.12 * a0, skin * 0.5, alpha=False)
    elif kind == "hand":
        cv.ellipse(0, 0.15 * b0, a0 * 0.8, b0 * 0.62, skin)
        fw = max(1.0, a0 * 0.3)
        spread = rng.uniform(0, 12)
        for i, fx in enumerate((-0.55, -0.18, 0.18, 0.55)):
            ln = b0 * (0.9 if i in (1, 2) else 0.75)
            ang = math.radians((i - 1.5) * spread)
            x1, y1 = fx * a0, -0.2 * b0
            cv.line(x1, y1, x1 + math.sin(ang) * ln, y1 - math.cos(ang) * ln, skin * 0.97, fw)
        cv.line(0.7 * a0, 0.3 * b0, 1.35 * a0, -0.15 * b0, skin * 0.95, fw * 1.1)
        cv.poly([(-0.5 * a0, 0.6 * b0), (0.5 * a0, 0.6 * b0), (0.45 * a0, 1.6 * b0),
                 (-0.45 * a0, 1.6 * b0)], skin * 0.92)
    elif kind == "arm":
        cv.ellipse(0, 0, a0 * 0.5, b0 * 1.7, skin)
    elif kind == "back":      # back of a head: hair, ears, neck - no face
        hair = _hair(rng)
        cv.poly([(-0.45 * a0, 0.3 * b0), (0.45 * a0, 0.3 * b0), (0.5 * a0, 1.7 * b0),
                 (-0.5 * a0, 1.7 * b0)], skin * 0.75)
        for sgn in (-1, 1):
            cv.ellipse(sgn * a0 * 0.97, 0.02 * b0, a0 * 0.16, b0 * 0.24, skin * 0.88)
        cv.ellipse(0, 0, a0 * 1.03, b0 * 1.02, hair)
        if rng.random() < 0.5:
            cv.ellipse(0, 0.75 * b0, a0 * 0.7, b0 * 0.3, hair * 0.9)
    color = _lighting(cv, a0, b0, rng, rng.uniform(0, 0.55), rng.uniform(0.62, 1.3),
                      rim=rng.uniform(0.1, 0.3))
    return _Template(color, cv.alpha.astype(np.float32) / 255.0,
                     np.zeros((cv.L, cv.L), np.float32), k)


# --------------------------------------------------------------------------- pasting
def _paste(img: np.ndarray, label: np.ndarray | None, tpl: _Template, cx: float, cy: float,
           theta_deg: float, blur_px: float, label_id: int):
    """Warp a template into ``img`` with its centre at (cx, cy).

    Returns (x0, y0, face_mask_patch) with the warped face mask (float32 in [0, 1]) of the
    patch whose top-left corner is (x0, y0) in the image, or None if off-image.
    """
    H, W = img.shape[:2]
    L = tpl.color.shape[0]
    S = L / 2.0
    k = tpl.k
    # anti-aliasing pre-blur for the down-scale plus the requested (artistic) blur
    sigma = math.sqrt((0.45 * k) ** 2 + (blur_px * k) ** 2) if (k > 1.0 or blur_px > 0) else 0.0
    color, alpha, fmask = tpl.color, tpl.alpha, tpl.fmask
    if sigma > 0.3:
        color = cv2.GaussianBlur(color, (0, 0), sigma)
        alpha = cv2.GaussianBlur(alpha, (0, 0), sigma)
        if fmask.any():
            fmask = cv2.GaussianBlur(fmask, (0, 0), sigma)
    th = math.radians(theta_deg)
    c, s = math.cos(th) / k, math.sin(th) / k
    # image = A @ (tpl - S) + (cx, cy)
    half = S * (abs(c) + abs(s)) + 1
    x0 = max(0, int(math.floor(cx - half)))
    y0 = max(0, int(math.floor(cy - half)))
    x1 = min(W, int(math.ceil(cx + half)) + 1)
    y1 = min(H, int(math.ceil(cy + half)) + 1)
    if x1 <= x0 or y1 <= y0:
        return None
    M = np.array([[c, -s, cx - x0 - (c * S - s * S)],
                  [s, c, cy - y0 - (s * S + c * S)]], np.float64)
    # template pixel centres sit at integer coordinates; S is the centre of the canvas
    size = (x1 - x0, y1 - y0)
    wc = cv2.warpAffine(color, M, size, flags=cv2.INTER_LINEAR, borderValue=0)
    wa = cv2.warpAffine(alpha, M, size, flags=cv2.INTER_LINEAR, borderValue=0)
    region = img[y0:y1, x0:x1].astype(np.float32)
    a3 = wa[..., None]
    img[y0:y1, x0:x1] = np.clip(region * (1.0 - a3) + wc * a3 + 0.5, 0, 255).astype(np.uint8)
    if label is not None:
        label[y0:y1, x0:x1][wa >= 0.5] = label_id
    wf = None
    if fmask.any():
        wf = cv2.warpAffine(fmask, M, size, flags=cv2.INTER_LINEAR, borderValue=0)
    return x0, y0, wf


def _ellipse_extent(a: float, b: float, theta_deg: float) -> tuple[float, float]:
    t = math.radians(theta_deg)
    hw = math.sqrt((a * math.cos(t)) ** 2 + (b * math.sin(t)) ** 2)
    hh = math.sqrt((a * math.sin(t)) ** 2 + (b * math.cos(t)) ** 2)
    return hw, hh


# --------------------------------------------------------------------------- background
def _background(rng: np.random.Generator, W: int, H: int) -> np.ndarray:
    kind = rng.choice(["gradient", "noise", "tiles", "room"], p=[0.3, 0.3, 0.15, 0.25])
    xs = np.linspace(0, 1, W, dtype=np.float32)[None, :, None]
    ys = np.linspace(0, 1, H, dtype=np.float32)[:, None, None]
    c1 = rng.uniform(0, 255, 3).astype(np.float32)
    c2 = rng.uniform(0, 255, 3).astype(np.float32)
    if kind == "gradient":
        phi = rng.uniform(0, 2 * math.pi)
        t = xs * math.cos(phi) + ys * math.sin(phi)
        t = (t - t.min()) / max(1e-6, float(t.max() - t.min()))
        img = c1 * (1 - t) + c2 * t
    elif kind == "noise":
        g = rng.random((int(rng.integers(2, 10)), int(rng.integers(2, 10)), 3)).astype(np.float32)
        t = cv2.resize(g, (W, H), interpolation=cv2.INTER_CUBIC)
        img = c1 + (c2 - c1) * np.clip(t, 0, 1)
    elif kind == "tiles":
        img = np.empty((H, W, 3), np.float32)
        img[:] = c1
        ts = int(rng.integers(24, 120))
        tu = img.astype(np.uint8)
        for y in range(0, H, ts):
            for x in range(0, W, ts):
                col = np.clip(c1 + rng.normal(0, 18, 3), 0, 255)
                cv2.rectangle(tu, (x + 1, y + 1), (x + ts - 2, y + ts - 2), _tc(col), -1)
        img = tu.astype(np.float32)
    else:  # room: wall + floor
        hz = int(H * rng.uniform(0.35, 0.8))
        img = np.empty((H, W, 3), np.float32)
        img[:hz] = c1 * (0.85 + 0.3 * ys[:hz])
        img[hz:] = c2 * (0.7 + 0.4 * ys[hz:])
    if rng.random() < 0.5:   # low-frequency brightness mottling
        g = rng.random((int(rng.integers(2, 8)), int(rng.integers(2, 8)))).astype(np.float32)
        m = cv2.resize(g, (W, H), interpolation=cv2.INTER_CUBIC)
        img = img * (0.8 + 0.4 * np.clip(m, 0, 1))[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def _clutter(rng: np.random.Generator, img: np.ndarray, n: int) -> None:
    H, W = img.shape[:2]
    for _ in range(n):
        kind = rng.choice(["rect", "circle", "ellipse", "line", "poly", "text", "stripes"],
                          p=[0.2, 0.12, 0.12, 0.2, 0.16, 0.1, 0.1])
        col = _tc(_skin(rng)) if rng.random() < 0.12 else _rand_color(rng)
        filled = rng.random() < 0.55
        th = -1 if filled else int(rng.integers(1, 6))
        x, y = int(rng.integers(0, W)), int(rng.integers(0, H))
        sz = int(math.exp(rng.uniform(math.log(6), math.log(max(8, 0.45 * min(W, H))))))
        if kind == "rect":
            cv2.rectangle(img, (x, y), (x + sz, y + int(sz * rng.uniform(0.3, 2.5))), col, th)
        elif kind == "circle":
            cv2.circle(img, (x, y), max(2, sz // 2), col, th, cv2.LINE_AA)
            if filled and rng.random() < 0.5:   # a ball with a highlight
                cv2.circle(img, (x - sz // 6, y - sz // 6), max(1, sz // 8), (245, 245, 245), -1,
                           cv2.LINE_AA)
        elif kind == "ellipse":
            cv2.ellipse(img, (x, y), (max(2, sz // 2), max(2, int(sz * rng.uniform(0.2, 1.0)))),
                        float(rng.uniform(0, 180)), 0, 360, col, th, cv2.LINE_AA)
        elif kind == "line":
            ang = rng.uniform(0, math.pi)
            ln = sz * rng.uniform(1, 4)
            cv2.line(img, (x, y), (int(x + ln * math.cos(ang)), int(y + ln * math.sin(ang))), col,
                     int(rng.integers(1, 7)), cv2.LINE_AA)
        elif kind == "poly":
            m = int(rng.integers(3, 7))
            pts = np.stack([x + rng.normal(0, sz / 2, m), y + rng.normal(0, sz / 2, m)], 1)
            cv2.fillPoly(img, [pts.astype(np.int32)], col, cv2.LINE_AA)
        elif kind == "text":
            letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
            s = "".join(letters[i] for i in rng.integers(0, len(letters), int(rng.integers(2, 9))))
            cv2.putText(img, s, (x, y), int(rng.integers(0, 8)), float(rng.uniform(0.4, 2.2)), col,
                        int(rng.integers(1, 4)), cv2.LINE_AA)
        else:
            h = int(sz * rng.uniform(0.5, 2))
            step = int(rng.integers(4, 14))
            col2 = _rand_color(rng)
            for i, yy in enumerate(range(y, y + h, step)):
                cv2.rectangle(img, (x, yy), (x + sz, yy + step // 2), col if i % 2 else col2, -1)


# --------------------------------------------------------------------------- layout
@dataclass
class _Face:
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
    a, b, theta = _face_geometry(rng, w)
    hw, hh = _ellipse_extent(a, b, theta)
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
    return _Face(cx, cy, a, b, theta, box, ext)


def _layout(rng, kind: str, W: int, H: int) -> list[_Face]:
    faces: list[_Face] = []
    if kind == "empty":
        return faces
    short = min(W, H)
    if kind == "crowd":
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


def _place_distractors(rng, faces: list[_Face], W: int, H: int, n: int):
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


def _draw_body(rng, img, label, f: _Face, clothes) -> None:
    H, W = img.shape[:2]
    top = f.cy + 1.25 * f.b
    ax = (max(1, int(f.a * rng.uniform(1.7, 2.2))), max(1, int(f.b * 1.1)))
    c = (int(round(f.cx - math.sin(math.radians(f.theta)) * 1.3 * f.b)), int(round(top + ax[1])))
    bottom = min(H, int(c[1] + f.b * rng.uniform(1.0, 6.0)))
    cv2.ellipse(img, c, ax, 0, 180, 360, _tc(clothes), -1, cv2.LINE_AA)
    cv2.rectangle(img, (c[0] - ax[0], c[1]), (c[0] + ax[0], bottom), _tc(clothes), -1)
    if label is not None:
        cv2.ellipse(label, c, ax, 0, 180, 360, 254, -1)
        cv2.rectangle(label, (c[0] - ax[0], c[1]), (c[0] + ax[0], bottom), 254, -1)


# --------------------------------------------------------------------------- one image
def _image_size(rng, kind: str, size_range: Sequence[int]) -> tuple[int, int]:
    lo, hi = int(size_range[0]), int(size_range[1])
    if kind == "crowd":
        lo = max(lo, int(0.75 * hi))
    W = int(rng.integers(lo, hi + 1))
    H = int(rng.integers(lo, hi + 1))
    return W, H


def render_image(seed: int, split: str, index: int, kind: str,
                 image_size: Sequence[int] = (320, 640)):
    """Render one synthetic image.

    Returns ``(bgr_uint8_image, boxes)`` where ``boxes`` is an ``(N, 10)`` int array in
    WIDER column order ``x1 y1 w h blur expression illumination invalid occlusion pose``.
    ``kind`` is one of ``"scene"``, ``"crowd"``, ``"portrait"``, ``"empty"``.
    """
    rng = np.random.default_rng([int(seed), _SPLIT_CODE.get(split, 7), int(index), 1])
    W, H = _image_size(rng, kind, image_size)
    img = _background(rng, W, H)
    area = W * H / (640.0 * 640.0)
    _clutter(rng, img, int(rng.integers(12, 45) * area) + 3)
    faces = _layout(rng, kind, W, H)
    n_dis = int(rng.integers(2, 8) if kind != "crowd" else rng.integers(1, 4))
    if kind == "empty":
        n_dis += 3
    for (dk, cx, cy, a, b, th) in _place_distractors(rng, faces, W, H, n_dis):
        tpl = _render_distractor(rng, a, b, dk)
        if dk == "back" and rng.random() < 0.8:
            _draw_body(rng, img, None, _Face(cx, cy, a, b, th, None, None), _rand_color(rng))
        _paste(img, None, tpl, cx, cy, th, float(rng.uniform(0, 1.0)), 0)

    label = np.full((H, W), 255, np.uint8)
    order = sorted(range(len(faces)), key=lambda i: faces[i].box[3])
    masks: dict[int, tuple] = {}
    for i in order:
        f = faces[i]
        if rng.random() < 0.85:
            _draw_body(rng, img, label, f, np.array(_rand_color(rng), np.float32) * 0.8)
        tpl, info = _render_face(rng, f.a, f.b)
        r = rng.random()
        if r < 0.6 or f.a < 8:
            blur_lvl, blur_px = 0, 0.0
        elif r < 0.9:
            blur_lvl, blur_px = 1, float(rng.uniform(0.5, 1.2))
        else:
            blur_lvl, blur_px = 2, float(min(rng.uniform(1.2, 2.5), 0.12 * f.a))
        res = _paste(img, label, tpl, f.cx, f.cy, f.theta, blur_px, i)
        x0, y0, wf = res
        m = wf >= 0.5
        ys, xs = np.nonzero(m)
        masks[i] = (x0, y0, m)
        bx1, by1 = x0 + int(xs.min()), y0 + int(ys.min())
        bx2, by2 = x0 + int(xs.max()) + 1, y0 + int(ys.max()) + 1
        f.attrs = dict(box=(bx1, by1, bx2 - bx1, by2 - by1), blur=blur_lvl,
                       expression=tpl.expression, illumination=info["illumination"],
                       pose=int(abs(f.theta) > 20))

    rows = []
    for i, f in enumerate(faces):
        x0, y0, m = masks[i]
        h, w = m.shape
        vis = float(np.count_nonzero(label[y0:y0 + h, x0:x0 + w][m] == i)) / max(1, m.sum())
        occ = 0 if vis >= 0.9 else (1 if vis >= 0.6 else 2)
        bx, by, bw, bh = f.attrs["box"]
        rows.append([bx, by, bw, bh, f.attrs["blur"], f.attrs["expression"],
                     f.attrs["illumination"], 0, occ, f.attrs["pose"]])
    # annotation order: top-to-bottom, left-to-right (like a human annotator would)
    rows.sort(key=lambda r: (r[1] // 16, r[0]))

    # global photometric effects
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
    return img, np.array(rows, dtype=np.int64).reshape(-1, 10)


# --------------------------------------------------------------------------- dataset
def _kinds(rng: np.random.Generator, n: int) -> list[str]:
    """Image kinds for a split; every split with n >= 4 has each kind at least once."""
    if n <= 0:
        return []
    quota = [("empty", 0.06), ("crowd", 0.08), ("portrait", 0.12)]
    kinds: list[str] = []
    for name, frac in quota:
        if len(kinds) < n - 1 or n >= 4:
            c = max(1, int(round(frac * n)))
            kinds += [name] * min(c, max(0, n - len(kinds) - 1))
    kinds += ["scene"] * (n - len(kinds))
    perm = rng.permutation(n)
    return [kinds[i] for i in perm]


def _name(kind: str, split: str, index: int) -> str:
    ev = EVENTS["scene" if kind == "empty" else kind]
    num, title = ev.split("--")
    return f"{ev}/{num}_{title}_{split}_{index:05d}.jpg"


def _work(job):
    root, split, index, kind, seed, image_size, name = job
    img, rows = render_image(seed, split, index, kind, image_size)
    rng = np.random.default_rng([int(seed), _SPLIT_CODE[split], int(index), 2])
    quality = int(rng.integers(82, 96))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"JPEG encoding failed for {name}")
    path = Path(root) / f"WIDER_{split}" / "images" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.tobytes())
    return split, name, kind, (img.shape[1], img.shape[0]), rows


def _difficulty_indices(rows: np.ndarray) -> dict[str, list[int]]:
    s = np.minimum(rows[:, 2], rows[:, 3]) if len(rows) else np.zeros(0)
    return {k: [int(i) + 1 for i in np.nonzero(s >= v)[0]] for k, v in DIFFICULTY_MIN_SIZE.items()}


def _prepare_root(root: Path, overwrite: bool) -> None:
    split_dir = root / "wider_face_split"
    marker = root / MARKER
    has_layout = any((root / p).exists() for p in ("WIDER_train", "WIDER_val", "wider_face_split"))
    if has_layout and not marker.exists() and not overwrite:
        raise FileExistsError(
            f"{root} already holds a WIDER-style layout that was not written by this generator "
            f"(no {MARKER}); refusing to overwrite it. Choose another directory or pass "
            f"overwrite=True.")
    if marker.exists() or overwrite:
        for sub in ("WIDER_train/images", "WIDER_val/images"):
            p = root / sub
            if p.exists():
                shutil.rmtree(p)
        for f in ("wider_face_train_bbx_gt.txt", "wider_face_val_bbx_gt.txt", DEFAULT_DIFFICULTY_NAME):
            if (split_dir / f).exists():
                (split_dir / f).unlink()


def generate_wider_dataset(root: str | os.PathLike, num_train: int = 300, num_val: int = 60,
                           seed: int = 0, image_size: Sequence[int] = (320, 640),
                           progress: bool = True, workers: int = 1,
                           overwrite: bool = False) -> dict:
    """Write a synthetic dataset in the official WIDER FACE layout under ``root``.

    Args:
        root: output directory (created if needed).  A directory that already holds a
            WIDER layout not written by this generator is refused unless ``overwrite``.
            A previous synthetic dataset there is replaced.
        num_train, num_val: number of images per split.
        seed: master seed; the same seed gives identical annotation files.
        image_size: ``(min_side, max_side)``; width and height are drawn independently
            from this range (crowd images use the upper quarter).
        progress: show a tqdm progress bar.
        workers: worker processes (results do not depend on it).
        overwrite: allow writing into a directory that holds a non-synthetic layout.

    Returns a summary dict (paths, per-split image/face counts, difficulty counts,
    seconds taken).
    """
    t0 = time.perf_counter()
    root = Path(root)
    if len(image_size) != 2 or not (16 <= int(image_size[0]) <= int(image_size[1])):
        raise ValueError(f"image_size must be (min_side, max_side), got {image_size!r}")
    root.mkdir(parents=True, exist_ok=True)
    _prepare_root(root, overwrite)
    split_dir = root / "wider_face_split"
    split_dir.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text(
        "Synthetic WIDER FACE layout written by ppdet_face.data.synthetic.generate_wider_dataset\n"
        f"num_train={num_train} num_val={num_val} seed={seed} "
        f"image_size={int(image_size[0])},{int(image_size[1])}\n"
        "difficulty by min(w, h) of the box: "
        + ", ".join(f"{k} >= {v}px" for k, v in DIFFICULTY_MIN_SIZE.items()) + "\n")

    jobs = []
    for split, n in (("train", int(num_train)), ("val", int(num_val))):
        (root / f"WIDER_{split}" / "images").mkdir(parents=True, exist_ok=True)
        krng = np.random.default_rng([int(seed), _SPLIT_CODE[split], 0, 0])
        for i, kind in enumerate(_kinds(krng, n)):
            jobs.append((str(root), split, i, kind, int(seed),
                         (int(image_size[0]), int(image_size[1])), _name(kind, split, i)))

    from tqdm import tqdm
    bar = tqdm(total=len(jobs), desc="synthetic WIDER", unit="img", disable=not progress)
    results = []
    try:
        if workers and workers > 1 and len(jobs) > 1:
            import multiprocessing as mp
            ctx = mp.get_context("fork" if hasattr(os, "fork") else "spawn")
            pool = ctx.Pool(int(workers))
            try:
                for r in pool.imap(_work, jobs, chunksize=4):
                    results.append(r)
                    bar.update(1)
                pool.close()      # let workers exit normally (no SIGTERM: paddle, if
            except BaseException:  # imported by the parent, prints a fatal-signal banner)
                pool.terminate()
                raise
            finally:
                pool.join()
        else:
            for job in jobs:
                results.append(_work(job))
                bar.update(1)
    finally:
        bar.close()

    summary: dict = {"root": str(root), "seed": int(seed), "image_size": tuple(image_size)}
    for split in ("train", "val"):
        recs = [(name, rows) for (sp, name, kind, _, rows) in results if sp == split]
        recs.sort(key=lambda r: (int(r[0].split("--")[0]), r[0]))
        ann = split_dir / f"wider_face_{split}_bbx_gt.txt"
        write_gt_txt(ann, recs)
        faces = int(sum(len(r) for _, r in recs))
        kinds = [kind for (sp, _, kind, _, _) in results if sp == split]
        info = {
            "images": len(recs),
            "faces": faces,
            "zero_face_images": int(sum(1 for _, r in recs if len(r) == 0)),
            "crowd_images": kinds.count("crowd"),
            "max_faces_per_image": int(max((len(r) for _, r in recs), default=0)),
            "image_dir": str(root / f"WIDER_{split}" / "images"),
            "annotation": str(ann),
        }
        if len(recs):
            allrows = np.concatenate([r for _, r in recs if len(r)] or [np.zeros((0, 10))])
            if len(allrows):
                s = np.minimum(allrows[:, 2], allrows[:, 3])
                info["face_min_side_px"] = {"min": int(s.min()), "median": float(np.median(s)),
                                            "max": int(s.max())}
        if split == "val":
            diff = split_dir / DEFAULT_DIFFICULTY_NAME
            write_difficulty_file(diff, [(name, _difficulty_indices(rows)) for name, rows in recs])
            counts = {k: 0 for k in DIFFICULTY_MIN_SIZE}
            for _, r in recs:
                for k, v in _difficulty_indices(r).items():
                    counts[k] += len(v)
            info["difficulty"] = counts
            info["difficulty_file"] = str(diff)
        summary[split] = info
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    return summary


# --------------------------------------------------------------------------- preview
def save_preview(root: str | os.PathLike, out_png: str | os.PathLike, n: int = 8,
                 split: str = "val", tile: int = 400, cols: int = 4,
                 names: Iterable[str] | None = None) -> str:
    """Draw GT boxes on ``n`` images of a split into one contact-sheet PNG.

    Picks a crowd image, an empty image and a portrait if present, then spreads the rest
    over the split.  Box colour encodes difficulty (green easy, yellow medium, red hard
    only).  Returns the PNG path.
    """
    root = Path(root)
    recs = read_gt_txt(root / "wider_face_split" / f"wider_face_{split}_bbx_gt.txt")
    by_name = {r.name: r.rows for r in recs}
    if names is None:
        chosen: list[str] = []
        crowd = [r.name for r in recs if r.name.startswith(EVENTS["crowd"])]
        empty = [r.name for r in recs if len(r.rows) == 0]
        portrait = [r.name for r in recs if r.name.startswith(EVENTS["portrait"])]
        for group in (crowd, empty, portrait):
            if group and len(chosen) < n:
                chosen.append(group[0])
        rest = [r.name for r in recs if r.name not in chosen]
        if rest and len(chosen) < n:
            step = max(1, len(rest) // (n - len(chosen)))
            chosen += rest[::step][: n - len(chosen)]
    else:
        chosen = list(names)
    tiles = []
    for name in chosen:
        img = cv2.imread(str(root / f"WIDER_{split}" / "images" / name))
        if img is None:
            continue
        rows = by_name.get(name, np.zeros((0, 10), np.int64))
        h, w = img.shape[:2]
        s = min(tile / w, tile / h)
        # faces are small: upscale tiles only for the grid, draw boxes afterwards
        im = cv2.resize(img, (max(1, int(w * s)), max(1, int(h * s))),
                        interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        for r in rows:
            m = min(r[2], r[3])
            col = (0, 255, 0) if m >= 48 else ((0, 255, 255) if m >= 24 else (0, 0, 255))
            p1 = (int(round(r[0] * s)), int(round(r[1] * s)))
            p2 = (int(round((r[0] + r[2]) * s)), int(round((r[1] + r[3]) * s)))
            cv2.rectangle(im, p1, p2, col, 1)
        canvas = np.full((tile + 22, tile, 3), 40, np.uint8)
        canvas[22:22 + im.shape[0], :im.shape[1]] = im
        cv2.putText(canvas, f"{name.split('/')[-1]}  {w}x{h}  faces={len(rows)}", (3, 15),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(canvas)
    if not tiles:
        raise FileNotFoundError(f"no images found for split {split!r} under {root}")
    cols = max(1, min(cols, len(tiles)))
    while len(tiles) % cols:
        tiles.append(np.full_like(tiles[0], 40))
    rows_img = [np.concatenate(tiles[i:i + cols], 1) for i in range(0, len(tiles), cols)]
    sheet = np.concatenate(rows_img, 0)
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out_png), sheet)
    return str(out_png)
