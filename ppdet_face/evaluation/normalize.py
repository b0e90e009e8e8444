"""Image normalisation for inference: ppdet's ``NormalizeImage`` + ``Permute``, bit for bit, fast."""
import numpy as np

__all__ = ["normalize_image"]


def normalize_image(rgb, mean, std, is_scale=False, out=None):
    """ppdet's ``NormalizeImage`` + ``Permute`` on one HWC image: float32 CHW, same bits.

    ``uint8`` images go through per-channel 256-entry lookup tables built with the very same float
    operations, which is bit-identical and several times faster than the float64 arithmetic.

    Args:
        out: optional float32 ``[3, H, W]`` array to write into (e.g. one slot of a batch).
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 image, got shape {rgb.shape}")
    if out is None:
        out = np.empty((3,) + rgb.shape[:2], dtype=np.float32)
    if rgb.dtype == np.uint8:
        import cv2

        luts = _normalize_lut(tuple(mean), tuple(std), bool(is_scale))
        for c, plane in enumerate(cv2.split(np.ascontiguousarray(rgb))):
            cv2.LUT(plane, luts[c], dst=out[c])
        return out
    out[...] = _normalize_hwc(rgb, mean, std, is_scale).transpose(2, 0, 1)
    return out


def _normalize_hwc(im, mean, std, is_scale):
    # ppdet.data.transform.operators.NormalizeImage.apply, operation for operation.
    im = np.array(im, dtype=np.float32)
    if is_scale:
        im *= 1.0 / 255.0
    im -= np.array(mean)[np.newaxis, np.newaxis, :]
    im /= np.array(std)[np.newaxis, np.newaxis, :]
    return im


_LUT_CACHE = {}


def _normalize_lut(mean, std, is_scale):
    """Per channel, a ``[1, 256]`` float32 table: the normalised value of each uint8 level."""
    key = (mean, std, is_scale)
    if key not in _LUT_CACHE:
        ramp = np.repeat(np.arange(256, dtype=np.float32), 3).reshape(256, 1, 3)
        table = _normalize_hwc(ramp, mean, std, is_scale).reshape(256, 3)
        _LUT_CACHE[key] = [np.ascontiguousarray(table[:, c].reshape(1, 256)) for c in range(3)]
    return _LUT_CACHE[key]
