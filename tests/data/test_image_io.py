"""Every kind of bad image gets one clear error naming the file; odd-but-valid images load as RGB."""
import cv2
import numpy as np
import pytest

from ppdet_face.data.image_io import BadImageError, read_image_rgb


def _jpeg(tmp_path, name="ok.jpg"):
    img = np.random.default_rng(0).integers(0, 255, (40, 50, 3), dtype=np.uint8)
    path = tmp_path / name
    cv2.imwrite(str(path), img)
    return path


@pytest.mark.parametrize("case,make,message", [
    ("empty", lambda p: p.write_bytes(b""), "empty file"),
    ("text", lambda p: p.write_text("this is not an image\n"), "not a decodable image"),
    ("truncated", None, "truncated JPEG"),
    ("missing", lambda p: None, "file not found"),
    ("tiny", lambda p: cv2.imwrite(str(p), np.zeros((1, 1, 3), np.uint8)), "smaller than"),
])
def test_bad_images_raise_one_clear_error(tmp_path, case, make, message):
    path = tmp_path / f"{case}.jpg"
    if case == "truncated":
        data = _jpeg(tmp_path).read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        make(path)
    with pytest.raises(BadImageError, match=message) as err:
        read_image_rgb(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_unreadable_path_is_a_bad_image(tmp_path):
    with pytest.raises(BadImageError, match="cannot read"):
        read_image_rgb(tmp_path)  # a directory


def test_grayscale_rgba_and_16bit_load_as_uint8_rgb(tmp_path):
    gray = tmp_path / "gray.png"
    cv2.imwrite(str(gray), np.full((20, 30), 77, np.uint8))
    rgba = tmp_path / "rgba.png"
    bgra = np.zeros((20, 30, 4), np.uint8)
    bgra[..., 0], bgra[..., 2], bgra[..., 3] = 10, 200, 128  # B=10, R=200
    cv2.imwrite(str(rgba), bgra)
    deep = tmp_path / "deep.png"
    cv2.imwrite(str(deep), np.full((20, 30, 3), 256 * 100, np.uint16))
    for path, pixel in [(gray, [77, 77, 77]), (rgba, [200, 0, 10]), (deep, [100, 100, 100])]:
        im = read_image_rgb(path)
        assert im.dtype == np.uint8 and im.shape == (20, 30, 3)
        assert im[5, 5].tolist() == pixel


def test_large_image_loads(tmp_path):
    path = tmp_path / "big.png"
    cv2.imwrite(str(path), np.zeros((8000, 8000, 3), np.uint8))
    assert read_image_rgb(path).shape == (8000, 8000, 3)
