"""Aligned face crops: each face warped by a similarity transform (rotation, uniform scale, translation) that maps
its five points onto the ArcFace 112 x 112 template, the input of ArcFace-style face recognition."""
import cv2
import numpy as np

from .preprocess import DeployError

__all__ = ["ARCFACE_112", "align_face", "similarity_transform"]

#: The five-point template of ArcFace / InsightFace for 112 x 112 crops (image-left eye, image-right eye, nose tip,
#: image-left mouth corner, image-right mouth corner), in pixels.
ARCFACE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
                        [70.7299, 92.2041]], np.float64)


def similarity_transform(src, dst):
    """The least-squares similarity transform taking points ``src`` to ``dst`` (Umeyama, no reflection).

    Args:
        src (np.ndarray): ``[N, 2]`` points, N >= 2.
        dst (np.ndarray): ``[N, 2]`` target points.

    Returns:
        np.ndarray: ``[2, 3]`` float64 affine matrix ``M`` with ``dst ~ M @ [x, y, 1]``.

    Raises:
        DeployError: fewer than two points, shapes that differ, or points that coincide.
    """
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise DeployError(f"similarity_transform: need two [N >= 2, 2] point sets, got {src.shape} and {dst.shape}")
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    var = (s ** 2).sum() / len(src)
    if var <= 1e-12:
        raise DeployError("similarity_transform: the source points coincide")
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rot = u @ sign @ vt
    scale = (sig * np.diag(sign)).sum() / var
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rot
    matrix[:, 2] = mu_d - scale * rot @ mu_s
    return matrix


def align_face(bgr, points, size=112):
    """The face with five ``points`` (``[5, 2]`` pixels, template order) warped onto the ArcFace template.

    Args:
        bgr (np.ndarray): the image.
        points (np.ndarray): its five points.
        size (int): crop side; the template is scaled from 112. Default: 112.

    Returns:
        np.ndarray: ``size x size`` crop (border pixels replicated).
    """
    matrix = similarity_transform(np.asarray(points, np.float64).reshape(5, 2), ARCFACE_112 * (size / 112.0))
    return cv2.warpAffine(bgr, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
