"""Paths and small helpers shared by the tests (importable because tests/ is on sys.path via its conftest)."""
import os
import pathlib

import cv2
import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"


from ppdet_face.utils.shared import shared_dir  # noqa: E402,F401  (the tests' way to it)


def load_tool(name):
    """``tools/<name>.py`` as a module (the tools are scripts, not an installed package), to call its ``main``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"ppdet_face_tool_{name}", REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: The shipped configs' NormalizeImage (RGB order): the pixel mean and the one std of all channels.
MEAN = np.array([123.0, 117.0, 104.0], np.float32)
STD = np.float32(127.502231)


def cpu_has_bf16():
    """Whether OpenVINO's CPU plugin can run bf16 here (AVX-512 BF16 or AMX)."""
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def skip_without_bf16():
    """Skip the calling test on a CPU without bf16, where ``--precision bf16`` is one ``error:`` line by design
    (tested in test_openvino.py)."""
    if not cpu_has_bf16():
        pytest.skip("this CPU has no bf16 support (OpenVINO CPU capabilities): bf16 cannot run here")


def export_random_model(root, **kwargs):
    """Export ``blazeface_fpn_ssh_1000e`` with seeded random weights and calibrated scores.

    Args:
        root (str|pathlib.Path): output folder of ``export_model``.
        **kwargs: passed to ``ppdet_face.export.export_model`` (``fmt``, ``fixed_shape``, ...).

    Returns:
        tuple: (dygraph model, export dir).
    """
    from ppdet.core.workspace import create

    from ppdet_face.data.preprocess import normalization
    from ppdet_face.engine import load_config
    from ppdet_face.export import export_model, init_random_weights

    cfg = load_config(str(CONFIGS / "face_detection" / "blazeface_fpn_ssh_1000e.yml"))
    model = create(cfg.architecture)
    init_random_weights(model, seed=1, face_logit_bias=-8.0, normalization=normalization(cfg, "TestReader"))
    return model, export_model(model, cfg, str(root), **kwargs)


def normalize(bgr):
    """BGR uint8 HxWx3 -> the model's CHW float32 input (RGB, (x - MEAN) / STD)."""
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32)
    return ((rgb - MEAN) / STD).transpose(2, 0, 1)


def blob_images(seed=0, sizes=((200, 260), (311, 187), (96, 128), (240, 240))):
    """Deterministic BGR test images: smooth colours with face-like blobs."""
    rng = np.random.RandomState(seed)
    out = []
    for h, w in sizes:
        img = cv2.resize((rng.rand(max(2, h // 16), max(2, w // 16), 3) * 255).astype(np.uint8), (w, h),
                         interpolation=cv2.INTER_CUBIC)
        for _ in range(5):
            r = int(rng.randint(6, max(7, min(h, w) // 4)))
            c = (int(rng.randint(r, w - r)), int(rng.randint(r, h - r)))
            cv2.ellipse(img, c, (r, int(r * 1.3)), 0, 0, 360, tuple(int(v) for v in rng.randint(90, 230, 3)), -1)
        out.append(img)
    return out


#: Hand-labelled face of matplotlib's grace_hopper.jpg (512 x 600): hairline / cap edge to chin, ear to ear.
PORTRAIT_FACE = [175, 125, 320, 310]


def real_photo(long_side=None):
    """A real photo every machine has: matplotlib's ``grace_hopper.jpg`` (BGR uint8, 512 x 600 portrait),
    resized so its longer side is ``long_side`` when given."""
    import matplotlib

    bgr = cv2.imread(os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg"))
    if long_side:
        h, w = bgr.shape[:2]
        scale = long_side / max(h, w)
        bgr = cv2.resize(bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return bgr
