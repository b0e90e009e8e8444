"""The `ppdet-face` command (ppdet_face_deploy.cli): detect over images, folders and videos; models; errors are
one line, exit status 1, and nothing is half-written."""
import json

import cv2
import pytest

from helpers import real_photo
from ppdet_face_deploy.bundled import BUNDLED_MODELS, bundled_cards
from ppdet_face_deploy.cli import main


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    folder = root / "photos" / "sub"
    folder.mkdir(parents=True)
    cv2.imwrite(str(folder / "a.jpg"), real_photo())
    cv2.imwrite(str(root / "photos" / "b.png"), real_photo(300))
    video = root / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 5, (256, 300))
    for _ in range(4):
        writer.write(real_photo(300))
    writer.release()
    return root


def test_models_lists_every_bundled_model_with_its_ap_and_licence(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name, card in bundled_cards().items():
        line = next(line for line in out.splitlines() if line.startswith(name))
        assert " / ".join(f"{v:.3f}" for v in card["wider_real_ap"]["single_scale"]) in line
        assert card["licence"] in line and ("box + landmarks" in line) == ("kps" in name)
    assert f"{BUNDLED_MODELS[0]} (default)" in out


def test_detect_folder_and_video_saves_pictures_video_and_json(inputs, tmp_path, capsys):
    save, out_json = tmp_path / "out", tmp_path / "faces.json"
    assert main(["detect", str(inputs / "photos"), str(inputs / "clip.mp4"), "--backend", "onnxruntime",
                 "--save", str(save), "--json", str(out_json), "--cpu_threads", "2"]) == 0
    out = capsys.readouterr().out
    assert f"{inputs / 'photos' / 'b.png'}: 1 faces" in out and "done: 2 images, 4 video frames" in out
    assert sorted(str(p.relative_to(save)) for p in save.rglob("*") if p.is_file()) == \
        ["b.png", "clip.mp4", "sub/a.jpg"]
    records = json.loads(out_json.read_text())
    assert [len(r["detections"]) for r in records] == [1] * 6
    assert records[-1]["image_file"] == f"{inputs / 'clip.mp4'}#3"
    assert cv2.VideoCapture(str(save / "clip.mp4")).get(cv2.CAP_PROP_FRAME_COUNT) == 4


def test_an_unreadable_image_is_one_error_line_exit_1_and_no_json(inputs, tmp_path, capsys):
    bad = tmp_path / "in"
    bad.mkdir()
    (bad / "broken.jpg").write_bytes(b"\xff\xd8not a jpeg")
    cv2.imwrite(str(bad / "good.jpg"), real_photo(300))
    out_json = tmp_path / "faces.json"
    assert main(["detect", str(bad), "--backend", "onnxruntime", "--save", str(tmp_path / "out"),
                 "--json", str(out_json)]) == 1
    err = capsys.readouterr().err
    assert "error: " + str(bad / "broken.jpg") + ": truncated JPEG" in err
    assert f"error: 1 images, 0 video frames, 1 failed; {out_json} not written" in err
    assert not out_json.exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.jpg"]  # whole pictures only


@pytest.mark.parametrize("argv,message", [
    (["detect", "no/such.jpg"], "error: no/such.jpg: no such file or folder"),
    (["detect"], "error: nothing to do: give image files, folders or videos"),
    (["detect", "{txt}"], "not an image (.jpg"),
    (["detect", "{empty}"], "no images below it"),
    (["detect", "{photos}", "--model", "yunet"], "error: model 'yunet' is neither a bundled model"),
    (["detect", "{photos}", "--backend", "onnxruntime", "--precision", "int8"], "error: --precision int8 is for"),
])
def test_errors_are_one_line_exit_1_before_anything_is_written(inputs, tmp_path, capsys, argv, message):
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    names = {"txt": tmp_path / "notes.txt", "empty": tmp_path / "empty", "photos": inputs / "photos"}
    argv = [a.format(**names) for a in argv] + ["--save", str(tmp_path / "out"), "--json", str(tmp_path / "f.json")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() and not (tmp_path / "f.json").exists()
