"""deploy/python/video.py: a video in, an annotated video (and per-frame results) out."""
import json

import cv2

from helpers import blob_images


def test_cli_video_in_annotated_video_out(dynamic_export, tmp_path):
    from ppdet_face_deploy.infer import main

    _, save_dir = dynamic_export
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 120))
    frames = blob_images(seed=4, sizes=[(120, 160)] * 7)
    for f in frames:
        writer.write(f)
    writer.release()
    code = main(["--model_dir", save_dir, "--video_file", str(video), "--output_dir", str(tmp_path / "out"),
                 "--batch_size", "2", "--threshold", "0.2", "--save_results"])
    assert code == 0
    cap = cv2.VideoCapture(str(tmp_path / "out" / "clip.mp4"))
    count = 0
    while cap.read()[0]:
        count += 1
    assert count == 7
    assert len(json.loads((tmp_path / "out" / "clip_bbox.json").read_text())) == 7
