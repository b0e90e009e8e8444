"""Backgrounds (gradients, noise, tiles, rooms) and the clutter drawn over them."""
from __future__ import annotations

import math

import cv2
import numpy as np

from .palette import rand_color, sample_skin, to_cv_color

__all__ = ["background", "clutter"]


def background(rng: np.random.Generator, W: int, H: int) -> np.ndarray:
    """A W x H BGR uint8 background: gradient, smooth noise, tiles or a room (wall and floor)."""
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
                cv2.rectangle(tu, (x + 1, y + 1), (x + ts - 2, y + ts - 2), to_cv_color(col), -1)
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


def clutter(rng: np.random.Generator, img: np.ndarray, n: int) -> None:
    """Draw ``n`` random shapes (rectangles, balls, lines, polygons, text, stripes) into ``img``."""
    H, W = img.shape[:2]
    for _ in range(n):
        kind = rng.choice(["rect", "circle", "ellipse", "line", "poly", "text", "stripes"],
                          p=[0.2, 0.12, 0.12, 0.2, 0.16, 0.1, 0.1])
        col = to_cv_color(sample_skin(rng)) if rng.random() < 0.12 else rand_color(rng)
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
            col2 = rand_color(rng)
            for i, yy in enumerate(range(y, y + h, step)):
                cv2.rectangle(img, (x, yy), (x + sz, yy + step // 2), col if i % 2 else col2, -1)
