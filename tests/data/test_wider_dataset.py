"""WIDER annotation parsing and the training dataset on bad input."""
import cv2
import numpy as np
import pytest

from ppdet_face.data import AnnotationError, WIDERFaceDetDataset, parse_wider_annotations


def _write(tmp_path, text):
    path = tmp_path / "gt.txt"
    path.write_text(text)
    return path


def test_parses_faces_zero_face_quirk_and_drops_degenerate_boxes(tmp_path):
    path = _write(tmp_path, "a/1.jpg\n2\n1 2 10 12 0 0 0 0 0 0\n5 5 0 7 0 0 0 0 0 0\n"
                            "a/2.jpg\n0\n0 0 0 0 0 0 0 0 0 0\n"
                            "a/3.jpg\n1\n3 4 -2 5 0 0 0 0 0 0\n")
    records, stats = parse_wider_annotations(path)
    assert [r["name"] for r in records] == ["a/1.jpg", "a/2.jpg", "a/3.jpg"]
    assert records[0]["boxes"].tolist() == [[1, 2, 10, 12]]
    assert records[1]["boxes"].shape == (0, 4) and records[2]["boxes"].shape == (0, 4)
    assert stats == {"images": 3, "faces": 1, "dropped": 2}


@pytest.mark.parametrize("text,line,message", [
    ("a/1.jpg\nx\n", 2, "face count"),
    ("a/1.jpg\n3\n1 2 3 4\n", 4, "declares 3 faces"),
    ("a/1.jpg\n1\n1 2 oops 4\n", 3, "must be numbers"),
    ("a/1.jpg\n1\n1 2\n", 3, "expected 'x y w h"),
    ("not-an-image\n1\n", 1, "expected an image path"),
])
def test_malformed_annotations_name_file_and_line(tmp_path, text, line, message):
    path = _write(tmp_path, text)
    with pytest.raises(AnnotationError, match=message) as err:
        parse_wider_annotations(path)
    assert f"{path}:{line}:" in str(err.value)


def _dataset(tmp_path, names_and_boxes):
    img_dir = tmp_path / "images"
    (img_dir / "e").mkdir(parents=True)
    lines = []
    for name, boxes in names_and_boxes:
        lines += [f"e/{name}", str(len(boxes))] + [f"{x} {y} {w} {h} 0 0 0 0 0 0" for x, y, w, h in boxes]
        if not boxes:
            lines.append("0 0 0 0 0 0 0 0 0 0")
    (tmp_path / "gt.txt").write_text("\n".join(lines) + "\n")
    ds = WIDERFaceDetDataset(dataset_dir=str(tmp_path), image_dir="images", anno_path="gt.txt")
    ds.parse_dataset()
    ds.set_transform(lambda sample: sample)
    return ds, img_dir / "e"


def test_bad_images_are_skipped_with_a_count(tmp_path):
    ds, d = _dataset(tmp_path, [("good.jpg", [(1, 1, 10, 10)]), ("empty.jpg", [(1, 1, 5, 5)]),
                                ("text.jpg", []), ("missing.jpg", [(2, 2, 4, 4)]), ("gray.png", [])])
    cv2.imwrite(str(d / "good.jpg"), np.zeros((32, 32, 3), np.uint8))
    (d / "empty.jpg").write_bytes(b"")
    (d / "text.jpg").write_text("hello")
    cv2.imwrite(str(d / "gray.png"), np.zeros((16, 24), np.uint8))
    samples = [ds[i] for i in range(len(ds))]
    # every index yields a usable sample: bad ones are replaced by the next good image
    assert [s["image"].shape for s in samples] == [(32, 32, 3), (16, 24, 3), (16, 24, 3), (16, 24, 3), (16, 24, 3)]
    assert ds.bad_images == 3
    assert samples[0]["gt_bbox"].tolist() == [[1, 1, 11, 11]]


def test_an_image_with_1500_faces_keeps_all_of_them(tmp_path):
    boxes = [(x * 10 % 990, x // 99 * 10, 8, 8) for x in range(1500)]
    ds, d = _dataset(tmp_path, [("crowd.jpg", boxes)])
    cv2.imwrite(str(d / "crowd.jpg"), np.zeros((200, 1000, 3), np.uint8))
    assert ds[0]["gt_bbox"].shape == (1500, 4)


def test_num_max_boxes_truncation_is_reported(tmp_path):
    from ppdet_face.engine.trainer import check_num_max_boxes

    ds, _ = _dataset(tmp_path, [("a.jpg", [(1, 1, 5, 5)] * 120), ("b.jpg", [(1, 1, 5, 5)])])
    msg = check_num_max_boxes(ds, {"sample_transforms": [{"PadBox": {"num_max_boxes": 90}}]})
    assert "1 training images have more than num_max_boxes=90 faces (up to 120)" in msg
    assert check_num_max_boxes(ds, {"sample_transforms": [{"PadBox": {"num_max_boxes": 200}}]}) is None
