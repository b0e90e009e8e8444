"""Colours of the synthetic scenes: skin tones, hair, irises, lips, and their random samplers."""
from __future__ import annotations

import numpy as np

__all__ = ["IRIS_BGR", "LIP_TINT", "rand_color", "sample_hair", "sample_skin", "to_cv_color"]

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
#: Iris colours (BGR).
IRIS_BGR = np.array([
    (35, 60, 100), (25, 30, 40), (160, 115, 70), (85, 135, 80), (50, 95, 120),
], dtype=np.float32)
#: Lip colour mixed half and half with the skin (BGR).
LIP_TINT = np.array([70, 60, 185], dtype=np.float32)


def sample_skin(rng: np.random.Generator) -> np.ndarray:
    """A skin tone (BGR float32) with a little per-face variation."""
    c = _SKIN_BGR[rng.integers(len(_SKIN_BGR))] + rng.normal(0, 7, 3)
    return np.clip(c, 20, 255).astype(np.float32)


def sample_hair(rng: np.random.Generator) -> np.ndarray:
    """A hair colour (BGR float32), dark shades most likely."""
    c = _HAIR_BGR[rng.choice(len(_HAIR_BGR), p=_HAIR_P)] + rng.normal(0, 6, 3)
    return np.clip(c, 5, 250).astype(np.float32)


def rand_color(rng: np.random.Generator) -> tuple:
    """A uniformly random colour as a tuple of three floats."""
    return tuple(float(v) for v in rng.integers(0, 256, 3))


def to_cv_color(c) -> tuple:
    """Colour as a tuple of python floats for cv2."""
    return tuple(float(v) for v in np.clip(c, 0, 255))
