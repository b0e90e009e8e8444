"""Reading images with one clear error for every way a file can be bad.

:func:`read_image_rgb` returns ``uint8`` H×W×3 RGB for any decodable image (grayscale,
RGBA, 16-bit PNG are converted) and raises :class:`BadImageError` naming the file otherwise.
"""
import os

import cv2
import numpy as np

__all__ = ["BadImageError", "read_image_rgb", "MIN_SIDE", "MAX_PIXELS"]

#: Smallest side accepted (a face detector with stride-16 features cannot use less).
MIN_SIDE = 8
#: Largest image accepted (pixels); 8000x8000 fits, a decompression bomb does not.
MAX_PIXELS = 100_000_000


class BadImageError(ValueError):
    """An image file that cannot be used; the message names the file and the reason."""


def _check_jpeg_complete(path, data):
    # A JPEG ends with the EOI marker FF D9; OpenCV decodes truncated files silently (grey fill).
    if data[:2] == b"\xff\xd8" and b"\xff\xd9" not in data[-1024:]:
        raise BadImageError(f"{path}: truncated JPEG (no end-of-image marker)")


def read_image_rgb(path):
    """Read ``path`` as ``uint8`` RGB ``[H, W, 3]``.

    Raises:
        BadImageError: missing/unreadable file, empty file, not an image, truncated JPEG,
            smaller than :data:`MIN_SIDE` or larger than :data:`MAX_PIXELS`.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise BadImageError(f"{path}: file not found") from None
    except OSError as exc:
        raise BadImageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not data:
        raise BadImageError(f"{path}: empty file (0 bytes)")
    _check_jpeg_complete(path, data)
    im = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if im is None:
        raise BadImageError(f"{path}: not a decodable image ({len(data)} bytes)")
    if im.dtype == np.uint16:
        im = (im >> 8).astype(np.uint8)
    elif im.dtype != np.uint8:
        im = cv2.normalize(im, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    h, w = im.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise BadImageError(f"{path}: image is {w}x{h}, smaller than {MIN_SIDE} px on a side")
    if h * w > MAX_PIXELS:
        raise BadImageError(f"{path}: image is {w}x{h}, more than {MAX_PIXELS} pixels")
    if im.ndim == 2:
        return cv2.cvtColor(im, cv2.COLOR_GRAY2RGB)
    if im.shape[2] == 4:
        return cv2.cvtColor(im, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(im, cv2.COLOR_BGR2RGB)
