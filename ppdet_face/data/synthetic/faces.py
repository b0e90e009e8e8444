"""Faces and face-coloured distractors, rendered upright into templates.

A face is a skin-toned ellipse with eyes, eyebrows, nose, mouth, hair (one of six styles), ears,
neck and shoulders; a distractor (feature-less skin blob, hand, arm, back of a head) shares the
faces' colours but not their structure, so a detector has to learn face *structure* rather than
skin colour.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .canvas import SHIFT, Canvas, Template, lighting
from .palette import IRIS_BGR, LIP_TINT, rand_color, sample_hair, sample_skin, to_cv_color

__all__ = ["render_distractor", "render_face"]


@dataclass
class _Sketch:
    """A face being drawn: its canvas, RNG, template half-axes and colours."""

    cv: Canvas
    rng: np.random.Generator
    a0: float
    b0: float
    skin: np.ndarray
    hair: np.ndarray
    style: str
    #: canvas offsets of the five landmarks (filled as the parts are drawn; no random draw of their own)
    nose_y: float = 0.0
    mouth: tuple = (0.0, 0.0)


def render_face(rng: np.random.Generator, a: float, b: float) -> tuple[Template, dict]:
    """Render a face (target half-axes a, b px) into an upright template.

    Args:
        rng (np.random.Generator): the image's generator (every draw is taken from it in a fixed order).
        a (float): target half width of the face ellipse (px).
        b (float): target half height of the face ellipse (px).

    Returns:
        tuple: (Template, info) with ``info["style"]`` (hair style), ``info["illumination"]``
        (1 for extreme lighting) and ``info["points"]``: float64 [5, 2] exact landmarks as canvas offsets from
        the template centre, in template pixels (eye centres, nose tip, mouth corners; the canvas-left one of
        each pair first).
    """
    k = max(1.0, 36.0 / a)
    a0, b0 = a * k, b * k
    cv = Canvas(int(math.ceil(1.75 * b0)) + 4)
    skin = sample_skin(rng)
    hair = sample_hair(rng)
    style = rng.choice(["short", "long", "bald", "hat", "curly", "bun"],
                       p=[0.38, 0.27, 0.08, 0.09, 0.1, 0.08])
    info = {"style": str(style)}
    f = _Sketch(cv, rng, a0, b0, skin, hair, style)
    _draw_back_of_head(f)
    fmask = _draw_face_oval(f)
    _draw_fringe_or_hat(f)
    ex, ey = _draw_eyebrows(f)
    _draw_eyes(f, ex, ey)
    _draw_nose(f, ey)
    expression = _draw_mouth(f)
    mw, my = f.mouth
    info["points"] = np.array([[-ex, ey], [ex, ey], [0.0, f.nose_y], [-mw, my], [mw, my]], np.float64)
    # lighting
    strength = rng.uniform(0.0, 0.55)
    brightness = rng.uniform(0.62, 1.3)
    # keep very dark skin under dim light from turning into a feature-less black blob
    lum = float(skin @ np.array([0.114, 0.587, 0.299], np.float32))
    brightness = max(brightness, 60.0 / max(lum, 1.0))
    color = lighting(cv, a0, b0, rng, strength, brightness, rim=rng.uniform(0.1, 0.3))
    info["illumination"] = int(brightness < 0.68 or brightness > 1.26 or strength > 0.5)
    tpl = Template(color, cv.alpha.astype(np.float32) / 255.0,
                   fmask.astype(np.float32) / 255.0, k, expression)
    return tpl, info


def _draw_back_of_head(f: _Sketch) -> None:
    """Neck, hair behind the head and ears (all behind the face)."""
    cv, rng, a0, b0, skin, hair, style = f.cv, f.rng, f.a0, f.b0, f.skin, f.hair, f.style
    nw = a0 * rng.uniform(0.4, 0.55)
    cv.poly([(-nw, 0.3 * b0), (nw, 0.3 * b0), (nw * 1.1, 1.5 * b0), (-nw * 1.1, 1.5 * b0)],
            skin * 0.72)
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
    if style != "long" and rng.random() < 0.85:
        for sgn in (-1, 1):
            cv.ellipse(sgn * a0 * 0.97, 0.02 * b0, a0 * 0.16, b0 * 0.24, skin * 0.88)
            cv.ellipse(sgn * a0 * 0.99, 0.02 * b0, a0 * 0.06, b0 * 0.12, skin * 0.7, alpha=False)


def _draw_face_oval(f: _Sketch) -> np.ndarray:
    """The face ellipse (and a beard clipped to it); returns its uint8 mask."""
    cv, a0, b0 = f.cv, f.a0, f.b0
    cv.ellipse(0, 0, a0, b0, f.skin)
    fmask = np.zeros((cv.L, cv.L), np.uint8)
    cv2.ellipse(fmask, cv.p(0, 0), cv.ax(a0, b0), 0, 0, 360, 255, -1, cv2.LINE_AA, SHIFT)
    if f.rng.random() < 0.08 and f.style != "long":
        tmp = cv.color.copy()
        cv2.ellipse(tmp, cv.p(0, 0.4 * b0), cv.ax(a0 * 1.02, b0 * 0.66), 0, 0, 180,
                    to_cv_color(f.hair * 1.1 + 15), -1, cv2.LINE_AA, SHIFT)
        m = fmask > 127
        cv.color[m] = tmp[m]
    return fmask


def _draw_fringe_or_hat(f: _Sketch) -> None:
    """Hair on the forehead (with a few strands for texture), or a hat."""
    cv, rng, a0, b0, hair = f.cv, f.rng, f.a0, f.b0, f.hair
    if f.style in ("short", "long", "curly", "bun"):
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
    elif f.style == "hat":
        hat = np.array(rand_color(rng), np.float32)
        cv.ellipse(0, -0.58 * b0, a0 * 1.0, b0 * 0.62, hat, start=180, end=360)
        cv.ellipse(0, -0.58 * b0, a0 * rng.uniform(1.1, 1.45), b0 * 0.11, hat * 0.8)


def _draw_eyebrows(f: _Sketch) -> tuple[float, float]:
    """The eyebrows; returns the eye centre offsets (ex, ey) they were placed by."""
    cv, rng, a0, b0 = f.cv, f.rng, f.a0, f.b0
    ex = a0 * rng.uniform(0.33, 0.41)
    ey = -b0 * rng.uniform(0.06, 0.16)
    brow = f.hair * 0.8 if rng.random() < 0.8 else np.array([25, 25, 30], np.float32)
    by = ey - b0 * rng.uniform(0.15, 0.22)
    btilt = rng.uniform(-12, 12)
    bthick = max(1.0, a0 * rng.uniform(0.045, 0.075))
    for sgn in (-1, 1):
        cv.ellipse(sgn * ex, by + 0.05 * b0, a0 * 0.2, b0 * 0.07, brow, angle=sgn * btilt,
                   start=200, end=340, thick=bthick, alpha=False)
    return ex, ey


def _draw_eyes(f: _Sketch, ex: float, ey: float) -> None:
    """Open or closed eyes, sunglasses or glasses at (+-ex, ey)."""
    cv, rng, a0 = f.cv, f.rng, f.a0
    eye_kind = rng.choice(["open", "closed", "sunglasses", "glasses"], p=[0.76, 0.07, 0.07, 0.1])
    ea, eb = a0 * rng.uniform(0.14, 0.18), a0 * rng.uniform(0.07, 0.095)
    iris = IRIS_BGR[rng.integers(len(IRIS_BGR))]
    look = rng.uniform(-0.3, 0.3) * ea
    for sgn in (-1, 1):
        x = sgn * ex
        if eye_kind == "closed":
            cv.ellipse(x, ey - eb * 0.3, ea, eb, f.skin * 0.4, start=20, end=160,
                       thick=max(1.0, 0.04 * a0), alpha=False)
            continue
        if eye_kind == "sunglasses":
            continue
        cv.ellipse(x, ey, ea * 1.12, eb * 1.35, f.skin * 0.72, alpha=False)   # eye socket shadow
        cv.ellipse(x, ey, ea, eb, (232, 236, 240), alpha=False)
        cv.ellipse(x + look, ey, eb * 0.95, eb * 0.95, iris, alpha=False)
        cv.ellipse(x + look, ey, eb * 0.45, eb * 0.45, (12, 12, 12), alpha=False)
        cv.ellipse(x + look + eb * 0.3, ey - eb * 0.3, eb * 0.18, eb * 0.18, (250, 250, 250),
                   alpha=False)
        cv.ellipse(x, ey, ea, eb, f.skin * 0.35, thick=max(1.0, 0.02 * a0), alpha=False)
    if eye_kind == "sunglasses":
        g = np.array([20, 20, 22], np.float32) + rng.uniform(0, 40)
        for sgn in (-1, 1):
            cv.ellipse(sgn * ex, ey, a0 * 0.23, a0 * 0.15, g, alpha=False)
        cv.line(-ex + a0 * 0.2, ey, ex - a0 * 0.2, ey, g, max(1.0, 0.04 * a0), alpha=False)
    elif eye_kind == "glasses":
        fr = np.array(rand_color(rng), np.float32) * 0.5
        for sgn in (-1, 1):
            cv.ellipse(sgn * ex, ey, a0 * 0.24, a0 * 0.17, fr, thick=max(1.0, 0.035 * a0),
                       alpha=False)
        cv.line(-ex + a0 * 0.24, ey, ex - a0 * 0.24, ey, fr, max(1.0, 0.035 * a0), alpha=False)


def _draw_nose(f: _Sketch, ey: float) -> None:
    """Nose ridge, tip and nostrils below the eye line ``ey``."""
    cv, rng, a0, b0, skin = f.cv, f.rng, f.a0, f.b0, f.skin
    ny = b0 * rng.uniform(0.22, 0.32)
    f.nose_y = ny
    nside = rng.choice([-1, 1])
    cv.line(nside * 0.03 * a0, ey + 0.05 * b0, nside * 0.08 * a0, ny, skin * 0.78,
            max(1.0, 0.035 * a0), alpha=False)
    cv.ellipse(0, ny, a0 * 0.13, b0 * 0.06, skin * 0.7, start=0, end=180,
               thick=max(1.0, 0.035 * a0), alpha=False)
    for sgn in (-1, 1):
        cv.ellipse(sgn * 0.07 * a0, ny + 0.01 * b0, a0 * 0.035, a0 * 0.025, skin * 0.45,
                   alpha=False)


def _draw_mouth(f: _Sketch) -> int:
    """A smiling, neutral, teeth-showing or open mouth; returns the WIDER expression flag."""
    cv, rng, a0, b0 = f.cv, f.rng, f.a0, f.b0
    my = b0 * rng.uniform(0.5, 0.6)
    mw = a0 * rng.uniform(0.24, 0.36)
    f.mouth = (mw, my)
    lip = f.skin * 0.5 + LIP_TINT * 0.5
    mouth = rng.choice(["smile", "neutral", "teeth", "open"], p=[0.35, 0.3, 0.2, 0.15])
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
        cv.ellipse(0, my, mw * 0.6, b0 * 0.13, (40, 30, 70), alpha=False)
        cv.ellipse(0, my, mw * 0.6, b0 * 0.13, lip, thick=max(1.0, 0.05 * a0), alpha=False)
        return 1
    return 0


def render_distractor(rng: np.random.Generator, a: float, b: float, kind: str) -> Template:
    """Render a face-sized non-face object in face colours (no face structure).

    Args:
        rng (np.random.Generator): the image's generator.
        a (float): target half width (px).
        b (float): target half height (px).
        kind (str): "blob", "hand", "arm" or "back" (back of a head: hair, ears, neck, no face).

    Returns:
        Template: with an empty face mask.
    """
    k = max(1.0, 24.0 / min(a, b))
    a0, b0 = a * k, b * k
    half = int(math.ceil(1.9 * max(a0, b0))) + 4
    cv = Canvas(half)
    skin = sample_skin(rng)
    if kind == "blob":
        cv.ellipse(0, 0, a0, b0, skin)
        if rng.random() < 0.3:   # a random mark that is not an eye pair
            cv.ellipse(rng.uniform(-0.4, 0.4) * a0, rng.uniform(-0.5, 0.5) * b0,
                       0.12 * a0, 0.12 * a0, skin * 0.5, alpha=False)
    elif kind == "hand":
        _draw_hand(cv, rng, a0, b0, skin)
    elif kind == "arm":
        cv.ellipse(0, 0, a0 * 0.5, b0 * 1.7, skin)
    elif kind == "back":      # back of a head: hair, ears, neck - no face
        hair = sample_hair(rng)
        cv.poly([(-0.45 * a0, 0.3 * b0), (0.45 * a0, 0.3 * b0), (0.5 * a0, 1.7 * b0),
                 (-0.5 * a0, 1.7 * b0)], skin * 0.75)
        for sgn in (-1, 1):
            cv.ellipse(sgn * a0 * 0.97, 0.02 * b0, a0 * 0.16, b0 * 0.24, skin * 0.88)
        cv.ellipse(0, 0, a0 * 1.03, b0 * 1.02, hair)
        if rng.random() < 0.5:
            cv.ellipse(0, 0.75 * b0, a0 * 0.7, b0 * 0.3, hair * 0.9)
    color = lighting(cv, a0, b0, rng, rng.uniform(0, 0.55), rng.uniform(0.62, 1.3),
                     rim=rng.uniform(0.1, 0.3))
    return Template(color, cv.alpha.astype(np.float32) / 255.0,
                    np.zeros((cv.L, cv.L), np.float32), k)


def _draw_hand(cv: Canvas, rng: np.random.Generator, a0: float, b0: float, skin: np.ndarray) -> None:
    """Palm, four spread fingers, thumb and wrist."""
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
