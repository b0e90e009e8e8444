"""Image decoding and the infer_cfg.yml ``Preprocess`` ops, with OpenCV (no per-pixel Python).

Each op works on ``(im, im_info)``: ``im`` is HWC RGB (uint8, then float32) until ``Permute``;
``im_info`` holds ``im_shape`` ([H, W] after resizing) and ``scale_factor`` ([sy, sx]).
``Pipeline`` fuses the common Resize -> NormalizeImage -> Permute chain into one
``cv2.dnn.blobFromImage`` call when the std is the same for all channels.
"""
import os

import cv2
import numpy as np

__all__ = ["DEFAULT_MAX_SIDE", "DeployError", "decode_image", "Resize", "NormalizeImage", "Permute", "PadStride",
           "Pipeline", "pad_batch", "pad_pixels"]

#: Default cap on the longer image side of dynamic-shape exports (pixels; 0: none). The evaluation's
#: ``eval_max_side`` (ppdet_face/config_keys.py) has the same default; tests/deploy/test_preprocess.py checks it.
DEFAULT_MAX_SIDE = 2048

_INTERP = {0: cv2.INTER_NEAREST, 1: cv2.INTER_LINEAR, 2: cv2.INTER_CUBIC, 3: cv2.INTER_AREA, 4: cv2.INTER_LANCZOS4}


class DeployError(RuntimeError):
    """A problem the user must fix (bad model folder, unsupported option, unreadable file)."""


def decode_image(image):
    """Return a BGR uint8 HxWx3 image (cv2 order) from a path, encoded bytes, or an ndarray (BGR).

    Grayscale arrays are expanded to 3 channels, BGRA arrays lose alpha.

    Raises:
        DeployError: the file is missing or cannot be decoded.
    """
    if isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        if os.path.isdir(path):
            raise DeployError(f"{path}: is a directory, not an image file")
        if not os.path.isfile(path):
            raise DeployError(f"{path}: file not found")
        try:
            data = np.fromfile(path, dtype=np.uint8)
        except OSError as exc:
            raise DeployError(f"{path}: cannot read ({exc.strerror or exc})") from None
        if data.size == 0:
            raise DeployError(f"{path}: empty file (0 bytes)")
        # A JPEG ends with the EOI marker FF D9; OpenCV decodes many truncated files silently (grey fill).
        if data[:2].tobytes() == b"\xff\xd8" and b"\xff\xd9" not in data[-1024:].tobytes():
            raise DeployError(f"{path}: truncated JPEG (no end-of-image marker)")
        im = cv2.imdecode(data, cv2.IMREAD_COLOR)
        if im is None:
            raise DeployError(f"{path}: not a readable image")
    elif isinstance(image, (bytes, bytearray)):
        im = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR) if image else None
        if im is None:
            raise DeployError("bytes input: not a readable image")
    elif isinstance(image, np.ndarray):
        im = image
        if im.ndim == 2:
            im = cv2.cvtColor(im, cv2.COLOR_GRAY2BGR)
        elif im.ndim != 3 or im.shape[2] not in (3, 4):
            raise DeployError(f"ndarray input must be HxW, HxWx3 (BGR) or HxWx4, got shape {im.shape}")
        elif im.shape[2] == 4:
            im = cv2.cvtColor(im, cv2.COLOR_BGRA2BGR)
        if im.dtype != np.uint8:
            im = np.clip(im, 0, 255).astype(np.uint8)
    else:
        raise DeployError(f"unsupported image input of type {type(image).__name__}")
    if im.shape[0] == 0 or im.shape[1] == 0:
        raise DeployError("empty image")
    return im


def cap_to_max_side(image, max_side):
    """``image`` scaled down so its longer side is at most ``max_side``: the one definition of the cap, shared by
    the predictor and the WIDER evaluation (``eval_max_side``).

    Args:
        image (np.ndarray): H x W (x C) image.
        max_side (int): the cap in pixels; 0 or None: no cap.

    Returns:
        tuple: ``(image, scale_factor)``: the input itself when it fits, else a copy resized with ``INTER_AREA`` to
        sides ``round(side * max_side / longer side)``; ``scale_factor`` float32 ``[out_h / h, out_w / w]``.
    """
    h, w = image.shape[:2]
    if not max_side or max(h, w) <= max_side:
        return image, np.ones(2, np.float32)
    s = max_side / max(h, w)
    out_h, out_w = max(1, int(round(h * s))), max(1, int(round(w * s)))
    return cv2.resize(image, (out_w, out_h), interpolation=cv2.INTER_AREA), np.array([out_h / h, out_w / w],
                                                                                      np.float32)


class Resize:
    """PaddleDetection's deploy Resize: ``keep_ratio`` scales the short side to min(target) and
    caps the long side at max(target); otherwise resizes to exactly ``target_size`` [h, w]."""

    def __init__(self, target_size, keep_ratio=True, interp=1):
        if isinstance(target_size, int):
            target_size = [target_size, target_size]
        self.target_size = [int(v) for v in target_size]
        self.keep_ratio = bool(keep_ratio)
        self.interp = _INTERP.get(int(interp), cv2.INTER_LINEAR)

    def scales(self, h, w):
        if self.keep_ratio:
            short, long_ = min(h, w), max(h, w)
            t_short, t_long = min(self.target_size), max(self.target_size)
            s = min(t_short / short, t_long / long_)
            return s, s
        return self.target_size[0] / h, self.target_size[1] / w

    def __call__(self, im, im_info):
        h, w = im.shape[:2]
        sy, sx = self.scales(h, w)
        if self.keep_ratio:
            out_w, out_h = int(round(w * sx)), int(round(h * sy))
        else:
            out_h, out_w = self.target_size
        if (out_h, out_w) != (h, w):
            im = cv2.resize(im, (out_w, out_h), interpolation=self.interp)
        im_info["im_shape"] = np.array([out_h, out_w], np.float32)
        im_info["scale_factor"] = np.array([out_h / h, out_w / w], np.float32) * im_info["scale_factor"]
        return im, im_info


class NormalizeImage:
    """``x = x / 255 if is_scale``; ``x = (x - mean) / std`` (mean/std in the image's RGB order)."""

    def __init__(self, mean, std, is_scale=True, norm_type="mean_std"):
        self.mean = np.asarray(mean, np.float32).reshape(1, 1, 3)
        self.std = np.asarray(std, np.float32).reshape(1, 1, 3)
        self.is_scale = bool(is_scale)
        self.norm_type = norm_type
        if norm_type not in ("mean_std", "none"):
            raise DeployError(f"NormalizeImage norm_type={norm_type!r} is not supported")

    def __call__(self, im, im_info):
        im = im.astype(np.float32, copy=False)
        if self.is_scale:
            im = im * np.float32(1.0 / 255.0)
        if self.norm_type == "mean_std":
            im = (im - self.mean) / self.std
        return im, im_info


class Permute:
    """HWC -> CHW."""

    def __call__(self, im, im_info):
        return np.ascontiguousarray(im.transpose(2, 0, 1)), im_info


class PadStride:
    """Pad (CHW) bottom/right with zeros to a multiple of ``stride``."""

    def __init__(self, stride=0):
        self.stride = int(stride)

    def __call__(self, im, im_info):
        if self.stride <= 0:
            return im, im_info
        c, h, w = im.shape
        ph, pw = -(-h // self.stride) * self.stride, -(-w // self.stride) * self.stride
        out = np.zeros((c, ph, pw), np.float32)
        out[:, :h, :w] = im
        return out, im_info


_OPS = {"Resize": Resize, "NormalizeImage": NormalizeImage, "Permute": Permute, "PadStride": PadStride}


class Pipeline:
    """The Preprocess list of infer_cfg.yml: ``pipeline(bgr_uint8) -> (chw float32 RGB, im_info)``.

    The image is converted to RGB (the order the exported model's mean/std use) first, or
    inside ``blobFromImage`` (``swapRB``) on the fast path.

    Args:
        ops_cfg (list[dict]): the ``Preprocess`` list.
        max_side (int): when the list has no ``Resize`` (dynamic-shape exports run images at
            their own size), an image whose longer side exceeds it is first scaled down to it,
            keeping the aspect ratio (``scale_factor`` records it, so boxes still come back in
            original pixels). Memory grows ~110 bytes per input pixel (8000x8000: 7.3 GB);
            the cap keeps it near 0.5 GB. 0 disables it. Default: :data:`DEFAULT_MAX_SIDE` (the eval tool's cap).
            ``downscaled`` counts the images it changed.

    ``pixel_normalization`` is ``(mean RGB, std)`` in pixel units when a runner may take the uint8
    image of :meth:`pixels` and normalise it inside its model (exactly this pipeline), else None.
    """

    def __init__(self, ops_cfg, max_side=DEFAULT_MAX_SIDE):
        if int(max_side) < 0:
            raise DeployError(f"max_side must be >= 0 (0: no cap), got {max_side}")
        self.ops = []
        for item in ops_cfg or []:
            item = dict(item)
            name = item.pop("type")
            if name not in _OPS:
                raise DeployError(f"Preprocess op {name!r} is not supported by this predictor "
                                  f"(supported: {', '.join(_OPS)})")
            self.ops.append(_OPS[name](**item))
        kinds = [type(op).__name__ for op in self.ops]
        self.max_side = 0 if "Resize" in kinds else int(max_side)
        self.downscaled = 0
        if "Permute" not in kinds:
            raise DeployError("Preprocess must put the image in CHW order (a Permute op)")
        # Fast path: Resize*, NormalizeImage (mean_std, one std for all channels), Permute, PadStride*.
        self._fused = None
        self.pixel_normalization = None
        n_resize = next(i for i, k in enumerate(kinds + ["end"]) if k != "Resize")
        rest = kinds[n_resize:]
        if rest[:2] == ["NormalizeImage", "Permute"] and all(k == "PadStride" for k in rest[2:]):
            norm = self.ops[n_resize]
            if norm.norm_type == "mean_std" and np.allclose(norm.std, norm.std.flat[0]):
                self._fused = n_resize
                self.pixel_normalization = self._pixel_normalization(norm, len(rest) == 2)

    @staticmethod
    def _pixel_normalization(norm, last):
        """``(mean RGB, std)`` in pixel units when a runner may normalise the uint8 image itself: the
        NormalizeImage + Permute are the last ops and the mean is a whole colour (padding a batch with it
        is exactly the 0.0 padding after normalisation). Else None."""
        unit = 255.0 if norm.is_scale else 1.0
        mean = norm.mean.reshape(-1) * unit
        if not last or not np.allclose(mean, np.round(mean)) or mean.min() < 0 or mean.max() > 255:
            return None
        return tuple(float(v) for v in np.round(mean)), float(norm.std.flat[0]) * unit

    def _capped(self, bgr):
        """``bgr`` scaled down to ``max_side`` when needed (:func:`cap_to_max_side`), and its ``im_info``."""
        capped, scale_factor = cap_to_max_side(bgr, self.max_side)
        self.downscaled += capped is not bgr
        return capped, {"im_shape": np.array(capped.shape[:2], np.float32), "scale_factor": scale_factor}

    def _resized(self, bgr):
        """The fast path's BGR image after ``max_side`` and the Resize ops, and its ``im_info``."""
        im, im_info = self._capped(bgr)
        for op in self.ops[:self._fused or 0]:  # resizing is channel-order agnostic
            im, im_info = op(im, im_info)
        return im, im_info

    def pixels(self, bgr):
        """The image before normalisation, for a runner that normalises inside its model
        (:attr:`pixel_normalization`): HWC uint8 RGB after ``max_side`` and the Resize ops, and ``im_info``.
        (RGB here, not in the model: OpenVINO 2026.4's channel reversal gives wrong results with dynamic
        shapes, tests/deploy/test_openvino.py.)"""
        im, im_info = self._resized(bgr)
        return cv2.cvtColor(im, cv2.COLOR_BGR2RGB), im_info

    def __call__(self, bgr):
        if self._fused is None:
            im, im_info = self._capped(bgr)
            im = cv2.cvtColor(im, cv2.COLOR_BGR2RGB)
            for op in self.ops:
                im, im_info = op(im, im_info)
            return im, im_info
        im, im_info = self._resized(bgr)
        norm = self.ops[self._fused]
        scale = (1.0 / 255.0 if norm.is_scale else 1.0) / float(norm.std.flat[0])
        mean = norm.mean.reshape(-1) * (255.0 if norm.is_scale else 1.0)
        # blobFromImage: BGR -> RGB, (im - mean) * scale, HWC -> NCHW in one C++ pass (mean in RGB order).
        chw = cv2.dnn.blobFromImage(im, scalefactor=scale, mean=tuple(float(v) for v in mean), swapRB=True,
                                    crop=False)[0]
        for op in self.ops[self._fused + 2:]:
            chw, im_info = op(chw, im_info)
        return chw, im_info


def pad_pixels(hwc_images, mean_rgb):
    """Stack HWC uint8 RGB images into [B, Hmax, Wmax, 3], padded bottom/right with the mean colour (which
    the model's normalisation turns into the 0.0 of :func:`pad_batch`)."""
    if len(hwc_images) == 1:
        return np.ascontiguousarray(hwc_images[0][None])
    h = max(im.shape[0] for im in hwc_images)
    w = max(im.shape[1] for im in hwc_images)
    out = np.empty((len(hwc_images), h, w, 3), np.uint8)
    out[:] = np.array(mean_rgb, np.float64).round().astype(np.uint8)
    for i, im in enumerate(hwc_images):
        out[i, :im.shape[0], :im.shape[1]] = im
    return out


def pad_batch(chw_images):
    """Stack CHW images into [B, 3, Hmax, Wmax], zero-padded bottom/right."""
    if len(chw_images) == 1:
        return chw_images[0][None]
    c = chw_images[0].shape[0]
    h = max(im.shape[1] for im in chw_images)
    w = max(im.shape[2] for im in chw_images)
    out = np.zeros((len(chw_images), c, h, w), np.float32)
    for i, im in enumerate(chw_images):
        out[i, :, :im.shape[1], :im.shape[2]] = im
    return out
