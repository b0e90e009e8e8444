"""Drawing primitives: a sub-pixel template canvas, its lighting, and pasting templates into images.

Faces and distractors are drawn upright on a :class:`Canvas` (at least ~36 px per half-axis, so
small faces keep their features), lit by :func:`lighting`, and warped into the image by
:func:`paste` (rotation, down-scaling with anti-aliasing, optional blur).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .palette import to_cv_color

__all__ = ["SHIFT", "Canvas", "Template", "ellipse_extent", "lighting", "paste"]

#: Fractional bits of the fixed-point coordinates of the canvas (cv2 ``shift``).
SHIFT = 3
_ONE = 1 << SHIFT


@dataclass
class Template:
    """A rendered object ready to be pasted: colour, coverage and face mask on a square canvas."""

    color: np.ndarray          # L x L x 3 float32 (BGR)
    alpha: np.ndarray          # L x L float32 in [0, 1]
    fmask: np.ndarray          # L x L float32 in [0, 1], face ellipse only
    k: float                   # render scale (template px per target px)
    expression: int = 0


class Canvas:
    """Square drawing canvas with its origin at the centre, sub-pixel drawing."""

    def __init__(self, half: int):
        self.S = half
        self.L = 2 * half
        self.color = np.zeros((self.L, self.L, 3), np.uint8)
        self.alpha = np.zeros((self.L, self.L), np.uint8)

    def p(self, x, y):
        """Fixed-point canvas coordinates of the point (x, y) relative to the centre."""
        return (int(round((self.S + x) * _ONE)), int(round((self.S + y) * _ONE)))

    @staticmethod
    def ax(a, b):
        """Fixed-point half-axes (at least one unit each)."""
        return (max(1, int(round(a * _ONE))), max(1, int(round(b * _ONE))))

    def ellipse(self, x, y, a, b, color, angle=0.0, start=0, end=360, thick=-1, alpha=True):
        """Draw an (arc of an) ellipse; ``alpha`` also marks it as covered. Default: filled, covered."""
        t = thick if thick < 0 else max(1, int(round(thick)))
        cv2.ellipse(self.color, self.p(x, y), self.ax(a, b), angle, start, end, to_cv_color(color),
                    t, cv2.LINE_AA, SHIFT)
        if alpha:
            cv2.ellipse(self.alpha, self.p(x, y), self.ax(a, b), angle, start, end, 255,
                        t, cv2.LINE_AA, SHIFT)

    def line(self, x1, y1, x2, y2, color, thick, alpha=True):
        """Draw a line; ``alpha`` also marks it as covered. Default: covered."""
        t = max(1, int(round(thick)))
        cv2.line(self.color, self.p(x1, y1), self.p(x2, y2), to_cv_color(color), t, cv2.LINE_AA, SHIFT)
        if alpha:
            cv2.line(self.alpha, self.p(x1, y1), self.p(x2, y2), 255, t, cv2.LINE_AA, SHIFT)

    def poly(self, pts, color, alpha=True):
        """Fill a polygon; ``alpha`` also marks it as covered. Default: covered."""
        arr = np.array([[self.p(x, y) for x, y in pts]], np.int32)
        cv2.fillPoly(self.color, arr, to_cv_color(color), cv2.LINE_AA, SHIFT)
        if alpha:
            cv2.fillPoly(self.alpha, arr, 255, cv2.LINE_AA, SHIFT)


def lighting(cv: Canvas, a0: float, b0: float, rng: np.random.Generator,
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


def paste(img: np.ndarray, label: np.ndarray | None, tpl: Template, cx: float, cy: float,
          theta_deg: float, blur_px: float, label_id: int):
    """Warp a template into ``img`` with its centre at (cx, cy).

    Args:
        img (np.ndarray): H x W x 3 uint8 image, changed in place.
        label (np.ndarray|None): H x W uint8 map of which object covers a pixel, changed in place.
        tpl (Template): the rendered object.
        cx (float): centre x in the image.
        cy (float): centre y in the image.
        theta_deg (float): in-plane rotation (degrees).
        blur_px (float): extra Gaussian blur (target pixels).
        label_id (int): value written into ``label`` where the object covers at least half a pixel.

    Returns:
        tuple|None: (x0, y0, face_mask_patch) with the warped face mask (float32 in [0, 1], None
        for a template without a face) of the patch whose top-left corner is (x0, y0) in the
        image, or None if off-image.
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


def ellipse_extent(a: float, b: float, theta_deg: float) -> tuple[float, float]:
    """Half width and half height of the box around an ellipse (half-axes a, b) rotated by theta."""
    t = math.radians(theta_deg)
    hw = math.sqrt((a * math.cos(t)) ** 2 + (b * math.sin(t)) ** 2)
    hh = math.sqrt((a * math.sin(t)) ** 2 + (b * math.cos(t)) ** 2)
    return hw, hh
