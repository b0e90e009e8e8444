"""deploy/python/preprocess.py: image decoding errors are DeployErrors; the uint8 pixel path of a runner that
normalises inside its model reproduces the float pipeline."""
import pytest


def test_empty_and_unreadable_files_are_deploy_errors(tmp_path):
    from ppdet_face_deploy.preprocess import DeployError, decode_image

    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(DeployError, match="empty file"):
        decode_image(str(empty))
    with pytest.raises(DeployError, match="not a readable image"):
        decode_image(b"")


NORM = {"type": "NormalizeImage", "mean": [123.0, 117.0, 104.0], "std": [127.502231] * 3, "is_scale": False,
        "norm_type": "mean_std"}


@pytest.mark.parametrize("ops,expected", [
    ([NORM, {"type": "Permute"}], ((123.0, 117.0, 104.0), 127.502231)),
    ([{"type": "Resize", "target_size": [64, 64], "keep_ratio": False}, NORM, {"type": "Permute"}],
     ((123.0, 117.0, 104.0), 127.502231)),
    ([dict(NORM, mean=[0.485, 0.456, 0.406], std=[0.229] * 3, is_scale=True), {"type": "Permute"}], None),
    ([NORM, {"type": "Permute"}, {"type": "PadStride", "stride": 32}], None),
    ([dict(NORM, std=[58.0, 57.0, 57.5]), {"type": "Permute"}], None),
])
def test_pixel_normalization_only_where_a_runner_can_reproduce_the_pipeline_exactly(ops, expected):
    """Offered (mean RGB, std in pixel units) only when NormalizeImage + Permute end the pipeline, one std
    serves all channels and the mean is a whole colour (the batch padding colour)."""
    from ppdet_face_deploy.preprocess import Pipeline

    got = Pipeline(ops).pixel_normalization
    if expected is None:
        assert got is None
    else:
        assert got[0] == expected[0] and got[1] == pytest.approx(expected[1])


def test_pixels_and_their_padding_normalise_to_the_float_pipeline():
    """(pixels - mean) / std of the uint8 RGB path equals the float path, padding included."""
    import cv2
    import numpy as np

    from ppdet_face_deploy.preprocess import Pipeline, pad_batch, pad_pixels

    pipe = Pipeline([NORM, {"type": "Permute"}])
    rng = np.random.RandomState(0)
    images = [(rng.rand(h, w, 3) * 255).astype(np.uint8) for h, w in ((40, 30), (24, 50))]
    mean, std = pipe.pixel_normalization
    pixels = pad_pixels([pipe.pixels(im)[0] for im in images], mean)
    got = (pixels.astype(np.float32) - np.float32(mean)) / np.float32(std)
    want = pad_batch([pipe(im)[0] for im in images]).transpose(0, 2, 3, 1)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert pixels.dtype == np.uint8 and cv2.cvtColor(images[0], cv2.COLOR_BGR2RGB)[0, 0].tolist() == \
        pixels[0, 0, 0].tolist()


def test_deploy_and_evaluation_cap_the_image_side_alike():
    """deploy/ cannot import ppdet_face: its default max side is its own constant, equal to eval_max_side's."""
    import inspect

    from ppdet_face.config_keys import KEYS
    from ppdet_face_deploy.preprocess import DEFAULT_MAX_SIDE, Pipeline
    from ppdet_face_deploy.runners import DetectorOptions

    defaults = {inspect.signature(Pipeline).parameters["max_side"].default, DetectorOptions().max_side}
    assert defaults == {DEFAULT_MAX_SIDE} and DEFAULT_MAX_SIDE == KEYS["eval_max_side"].default
