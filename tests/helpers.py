"""Paths and small helpers shared by the tests (importable because tests/ is on sys.path via its conftest)."""
import os
import pathlib

import cv2
import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"


def shared_dir():
    """The ../shared folder (override with PPDET_FACE_SHARED)."""
    return pathlib.Path(os.environ.get("PPDET_FACE_SHARED", REPO.parent / "shared")).resolve()


#: The shipped configs' NormalizeImage (RGB order): the pixel mean and the one std of all channels.
MEAN = np.array([123.0, 117.0, 104.0], np.float32)
STD = np.float32(127.502231)


def normalize(bgr):
    """BGR uint8 HxWx3 -> the model's CHW float32 input (RGB, (x - MEAN) / STD)."""
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32)
    return ((rgb - MEAN) / STD).transpose(2, 0, 1)
