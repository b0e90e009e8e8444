"""benchmarks/harness.py: the markdown table and the WIDER prediction loop every benchmark uses."""
import numpy as np
import pytest

from benchmarks.harness import BenchmarkError, markdown_table, predict_wider
from eval_tools.wider_format import read_pred_file


def test_markdown_table_aligns_and_pads_short_rows():
    text = markdown_table(["detector", "ms", "AP"], [["ours", "1.5", "0.8"], ["peer", "skipped: no model"]])
    assert text.splitlines() == ["| detector | ms | AP |", "|---|---:|---:|", "| ours | 1.5 | 0.8 |",
                                 "| peer | skipped: no model |  |"]
    assert markdown_table(["a", "b"], [], align="rl").splitlines()[1] == "|---:|---|"


def test_predict_wider_writes_official_files_and_times_each_image(tmp_path):
    import cv2

    image = tmp_path / "0_x.jpg"
    cv2.imwrite(str(image), np.zeros((20, 30, 3), np.uint8))
    calls = []

    def detect(bgr):
        calls.append(bgr.shape)
        return np.array([[1.0, 2.0, 11.0, 7.0, 0.9]], np.float32)

    out = predict_wider(detect, [("0--Parade/0_x", image)], tmp_path / "pred")
    assert len(calls) == 2 and len(out) == 1 and out[0][1] == 1 and out[0][0] > 0  # warm-up + the image
    path = tmp_path / "pred" / "0--Parade" / "0_x.txt"
    assert path.read_text().splitlines()[0] == "0_x.jpg"
    boxes = read_pred_file(path)
    np.testing.assert_allclose(boxes, [[1.0, 2.0, 10.0, 5.0, 0.9]], atol=1e-6)  # x y w h score
    with pytest.raises(BenchmarkError, match="cannot read image"):
        predict_wider(detect, [("0--Parade/missing", tmp_path / "missing.jpg")], tmp_path / "pred", warmup=False)
