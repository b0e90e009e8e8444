"""deploy/python/images.py: --image_file / --image_dir listing, batching, bad files, pictures and bbox.json."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from helpers import REPO, blob_images

INFER = REPO / "deploy" / "python" / "infer.py"


def test_cli_folder_reports_bad_files_continues_and_saves_results(dynamic_export, tmp_path, capsys):
    from ppdet_face_deploy.infer import main

    _, save_dir = dynamic_export
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, img in enumerate(blob_images()):
        cv2.imwrite(str(folder / f"img{i}.png"), img)
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "out"
    code = main(["--model_dir", save_dir, "--image_dir", str(folder), "--output_dir", str(out), "--batch_size", "3",
                 "--threshold", "0.2", "--save_results", "--enable_mkldnn", "True", "--cpu_threads", "2"])
    captured = capsys.readouterr()
    assert code == 1
    assert "broken.jpg: not a readable image" in captured.err and "Traceback" not in captured.err
    assert sorted(os.listdir(out)) == ["bbox.json", "img0.png", "img1.png", "img2.png", "img3.png"]
    records = json.loads((out / "bbox.json").read_text())
    assert [os.path.basename(r["image_file"]) for r in records] == [f"img{i}.png" for i in range(4)]
    det = records[1]["detections"]
    assert det and all(d["score"] >= 0.2 and d["label"] == "face" and len(d["bbox"]) == 4 for d in det)
    drawn = cv2.imread(str(out / "img1.png"))
    assert drawn.shape == blob_images()[1].shape and not np.array_equal(drawn, blob_images()[1])


def test_image_extensions_are_the_packages_copy():
    """deploy keeps its own IMAGE_EXTS (it may not import eval_tools): the same as eval_tools' tuple."""
    from eval_tools.wider_format import IMAGE_EXTENSIONS
    from ppdet_face_deploy.images import IMAGE_EXTS

    assert IMAGE_EXTS == IMAGE_EXTENSIONS


def test_image_dir_recurses_into_subfolders_in_sorted_order(tmp_path):
    from ppdet_face_deploy.images import collect_images, output_path
    from ppdet_face_deploy.infer import parse_args

    folder = tmp_path / "images"
    names = ["10--People/b.jpg", "0--Parade/z.PNG", "0--Parade/a.jpg", "top.bmp", "0--Parade/deep/x.jpeg",
             "0--Parade/notes.txt", ".hidden/h.jpg", "0--Parade/.a.jpg"]
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"x")
    args = parse_args(["--model_dir", "m", "--image_dir", str(folder), "--output_dir", str(tmp_path / "out")])
    found = collect_images(args)
    assert [os.path.relpath(f, folder) for f in found] == [
        "0--Parade/a.jpg", "0--Parade/deep/x.jpeg", "0--Parade/z.PNG", "10--People/b.jpg", "top.bmp"]
    assert collect_images(args) == found  # deterministic
    # visualised images keep their subfolder, so equal names in two events do not overwrite each other
    assert output_path(found[0], args) == str(tmp_path / "out" / "0--Parade" / "a.jpg")
    args.image_file = str(tmp_path / "elsewhere.jpg")
    assert output_path(args.image_file, args) == str(tmp_path / "out" / "elsewhere.jpg")


def test_image_dir_finds_the_200_real_wider_val_images(shared):
    from ppdet_face_deploy.images import collect_images
    from ppdet_face_deploy.infer import parse_args

    folder = shared / "data" / "wider_face_real" / "WIDER_val" / "images"
    if not folder.is_dir():
        pytest.skip(f"real WIDER val images not found at {folder} (set PPDET_FACE_SHARED)")
    found = collect_images(parse_args(["--model_dir", "m", "--image_dir", str(folder)]))
    assert len(found) == 200
    assert found == sorted(found, key=lambda f: os.path.relpath(f, folder).split(os.sep))
    assert all(os.path.dirname(os.path.relpath(f, folder)) for f in found)  # all in event subfolders


def test_cli_on_the_real_shared_images_saves_json_and_pictures(dynamic_export, shared, tmp_path):
    """The 9 WIDER val images and the dlib photos of ../shared/data through the CLI, batch 2."""
    files = sorted(shared.glob("data/wider_face_val_subset/WIDER_val/images/*/*.jpg")) + \
        sorted(shared.glob("data/dlib_faces/*.jpg"))
    if len(files) < 10:
        pytest.skip(f"expected the WIDER val subset and dlib photos under {shared / 'data'}, found {len(files)} images")
    folder = tmp_path / "in"
    folder.mkdir()
    for f in files:
        (folder / f.name).symlink_to(f)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(INFER), "--model_dir", dynamic_export[1], "--image_dir", str(folder),
                           "--batch_size", "2", "--enable_mkldnn", "True", "--cpu_threads", "2", "--save_results",
                           "--threshold", "0.3", "--output_dir", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"{len(files)}/{len(files)} images processed" in proc.stdout
    records = json.loads((out / "bbox.json").read_text())
    assert [os.path.basename(r["image_file"]) for r in records] == [f.name for f in files]
    for r, f in zip(records, files):
        h, w = cv2.imread(str(f)).shape[:2]
        assert (r["height"], r["width"]) == (h, w)
        for d in r["detections"]:
            x1, y1, x2, y2 = d["bbox"]
            assert d["score"] >= 0.3 and 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
        picture = cv2.imread(str(out / f.name))
        assert picture is not None and picture.shape[:2] == (h, w)


def _bad_and_odd_images(folder):
    """The image cases of the reliability table, written into ``folder``; returns (bad, fine) names."""
    base = blob_images(seed=4, sizes=((120, 160),))[0]
    ok, jpeg = cv2.imencode(".jpg", base)
    (folder / "truncated.jpg").write_bytes(jpeg.tobytes()[: len(jpeg) // 2])
    (folder / "text.jpg").write_text("not an image\n")
    (folder / "empty.jpg").write_bytes(b"")
    cv2.imwrite(str(folder / "gray.png"), cv2.cvtColor(base, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(folder / "rgba.png"), cv2.cvtColor(base, cv2.COLOR_BGR2BGRA))
    cv2.imwrite(str(folder / "deep16.png"), base.astype(np.uint16) * 257)
    cv2.imwrite(str(folder / "tiny.png"), base[:1, :1])
    return ["empty.jpg", "text.jpg", "truncated.jpg"], ["deep16.png", "gray.png", "rgba.png", "tiny.png"]


def test_cli_bad_and_odd_images_each_get_one_line_or_are_processed(dynamic_export, tmp_path, capsys):
    from ppdet_face_deploy.infer import main

    folder = tmp_path / "imgs"
    folder.mkdir()
    bad, fine = _bad_and_odd_images(folder)
    out = tmp_path / "out"
    code = main(["--model_dir", dynamic_export[1], "--image_dir", str(folder), "--output_dir", str(out),
                 "--save_results", "--save_images", "False", "--batch_size", "2"])
    captured = capsys.readouterr()
    assert code == 1 and "Traceback" not in captured.err
    errors = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert sorted(os.path.basename(line.split(":")[1].strip()) for line in errors) == bad, errors
    assert f"error: {folder / 'empty.jpg'}: empty file (0 bytes)" in errors
    assert f"error: {folder / 'text.jpg'}: not a readable image" in errors
    assert f"error: {folder / 'truncated.jpg'}: truncated JPEG (no end-of-image marker)" in errors
    assert f"{len(fine)}/{len(fine) + len(bad)} images processed, {len(bad)} failed" in captured.out
    records = json.loads((out / "bbox.json").read_text())
    assert sorted(os.path.basename(r["image_file"]) for r in records) == fine
    assert {os.path.basename(r["image_file"]): (r["height"], r["width"]) for r in records}["tiny.png"] == (1, 1)


@pytest.mark.parametrize("name,message", [("missing.jpg", "file not found"),
                                          ("folder.jpg", "is a directory, not an image file")])
def test_cli_missing_file_or_directory_is_one_line(dynamic_export, tmp_path, capsys, name, message):
    from ppdet_face_deploy.infer import main

    (tmp_path / "folder.jpg").mkdir()
    code = main(["--model_dir", dynamic_export[1], "--image_file", str(tmp_path / name), "--save_images", "False"])
    captured = capsys.readouterr()
    assert code == 1 and "Traceback" not in captured.err
    assert f"error: {tmp_path / name}: {message}" in captured.err.splitlines()
