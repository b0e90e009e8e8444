"""benchmarks/wider_real.py on 3 real val images with 2 peers, and the peers' decoders on hand-made outputs."""
import numpy as np
import pytest

import benchmarks.peers as peers
import benchmarks.wider_real as bench


def test_wider_real_table_with_two_peers_on_three_images(shared, tmp_path):
    dataset = shared / "data" / "wider_face_real"
    if not (dataset / bench.ANNO_PATH).is_file():
        pytest.skip(f"WIDER val data not found under {dataset}")
    for key in ("yunet", "scrfd_500m"):
        if not (shared / "peers" / peers.PEERS[key].model).is_file():
            pytest.skip(f"peer model {peers.PEERS[key].model} not found under {shared / 'peers'}")
    images = bench.val_images(dataset, limit=3)
    crowded = max(images, key=lambda im: im[2])[0]
    rows = [bench.run_peer_row(key, images, tmp_path / key, threads=2, peers_root=shared / "peers", crowded=crowded)
            for key in ("yunet", "scrfd_500m")]
    gt = bench.load_val_gt(dataset, [k for k, _, _ in images])
    assert len(gt) == 3
    results = bench.evaluate_rows(rows, gt)
    table = bench.format_table(rows)
    assert "| YuNet 2026may | original size |" in table
    assert "| SCRFD-500m | 640 letterbox |" in table
    assert len(table.splitlines()) == 2 + 2
    for row in rows:
        assert all(0.0 <= row["ap"][s] <= 1.0 for s in ("easy", "medium", "hard")), row["ap"]
        assert row["ap"]["easy"] > 0.3  # real detectors on real faces
        assert 0 < row["ms_mean"] <= row["ms_max"] and row["ms_crowded"] > 0
        assert len(list((tmp_path / row["row"]).glob("*/*.txt"))) == 3
    png = tmp_path / "pr.png"
    from eval_tools.plotting import plot_pr_comparison

    assert plot_pr_comparison(results, png).stat().st_size > 10_000


def test_format_table_marks_skipped_and_missing_values():
    rows = [{"row": "x", "detector": "X", "input": "640", "skipped": "model file not found: x.onnx"},
            {"row": "y", "detector": "Y", "input": "orig", "published": None, "published_note": "",
             "ap": {"easy": 0.5, "medium": 0.25, "hard": 0.125}, "ms_mean": 10.0, "ms_median": 9.0, "ms_p90": 15.0,
             "ms_max": 20.0}]
    lines = bench.format_table(rows).splitlines()
    assert "skipped: model file not found: x.onnx" in lines[2]
    assert lines[3] == "| Y | orig | 0.5000 | 0.2500 | 0.1250 | — | 10.0 | 9.0 | 15.0 | 20.0 | — | — |"


def test_peak_rss_reads_vmhwm(tmp_path):
    from ppdet_face_deploy.memory import peak_rss_mb, process_memory_mb

    (tmp_path / "self").mkdir()
    (tmp_path / "self" / "status").write_text("Name:\tpython\nVmPeak:\t 9000 kB\nVmHWM:\t    2048 kB\n"
                                              "VmRSS:\t 1024 kB\n")
    assert process_memory_mb("self", str(tmp_path)) == (1.0, 2.0)
    assert peak_rss_mb(str(tmp_path)) == 2.0
    assert process_memory_mb(123, str(tmp_path)) is None  # an exited process
    assert peak_rss_mb(str(tmp_path / "none")) > 10  # ru_maxrss of this process
    assert peak_rss_mb() > 10


def test_deploy_rows_run_our_export_through_deploy(shared, tmp_path):
    """A deploy row on 2 real images: the export is made once, the row runs deploy's Detector."""
    if not (shared / "data" / "wider_face_real" / bench.ANNO_PATH).is_file():
        pytest.skip("WIDER val data not found under shared/data/wider_face_real")
    out = tmp_path / "out"
    argv = ["--rows", "deploy_ov_f32", "--random_weights", "--limit", "2", "--shared", str(shared),
            "--out_dir", str(out), "--json", str(tmp_path / "r.json")]
    assert bench.main(argv) == 0
    import json

    rows = json.loads((tmp_path / "r.json").read_text())["rows"]
    assert [r["detector"] for r in rows] == ["ours: OpenVINO f32"]
    for row in rows:
        assert 0 < row["ms_median"] <= row["ms_p90"] <= row["ms_max"] and 0 <= row["ap"]["easy"] <= 1
        assert row["peak_rss_mib"] < 2000  # the child's own peak, not the exporting parent's
        assert len(list((out / row["row"] / "pred").glob("*/*.txt"))) == 2
    assert len(list((out / "export").glob("*/model.onnx"))) == 1


def test_scrfd_decode_pairs_outputs_by_shape():
    """64 x 64 input: strides 8 / 16 / 32 have 128 / 32 / 8 anchors (2 per cell); one scored anchor."""
    rows = {8: 128, 16: 32, 32: 8}
    scores = {s: np.zeros((n, 1), np.float32) for s, n in rows.items()}
    dist = {s: np.zeros((n, 4), np.float32) for s, n in rows.items()}
    # stride 16, cell row 1 col 2 (4 cells per row), anchor 1: index (1 * 4 + 2) * 2 + 1; centre (32, 16)
    scores[16][13] = 0.9
    dist[16][13] = [1.0, 0.5, 2.0, 1.0]  # left, top, right, bottom in strides
    kps = [np.zeros((n, 10), np.float32) for n in rows.values()]
    # order as in neither ONNX file: distances first, stride 32 first, a batch axis on some, landmarks mixed in
    outputs = [dist[32], dist[16][None], kps[0], dist[8], scores[32][None], scores[8], kps[1], scores[16]]
    boxes, conf = peers.scrfd_decode(outputs, (64, 64))
    assert boxes.shape == (168, 4) and conf.shape == (168,)
    best = int(np.argmax(conf))
    np.testing.assert_allclose(boxes[best], [32 - 16, 16 - 8, 32 + 32, 16 + 16])
    assert conf[best] == pytest.approx(0.9)
    with pytest.raises(ValueError, match="fits no stride"):
        peers.scrfd_decode([np.zeros((100, 1))], (64, 64))
    with pytest.raises(ValueError, match="stride 32 incomplete"):
        peers.scrfd_decode([dist[8], dist[16], scores[8], scores[16], scores[32]], (64, 64))


def test_retinaface_priors_and_decode():
    priors = peers.retinaface_priors(640)
    assert priors.shape == (16800, 4)
    np.testing.assert_allclose(priors[0] * 640, [4, 4, 16, 16])  # cell (0, 0), min size 16
    np.testing.assert_allclose(priors[1] * 640, [4, 4, 32, 32])  # same cell, min size 32
    np.testing.assert_allclose(priors[2] * 640, [12, 4, 16, 16])  # next cell along x
    np.testing.assert_allclose(priors[2 * 80] * 640, [4, 12, 16, 16])  # next row
    np.testing.assert_allclose(priors[12800] * 640, [8, 8, 64, 64])  # stride 16 level
    np.testing.assert_allclose(priors[16800 - 1] * 640, [624, 624, 512, 512])  # last: stride 32, size 512
    loc = np.zeros((16800, 4), np.float32)
    loc[0] = [1.0, 0.0, np.log(2.0) / 0.2, 0.0]  # centre x + 0.1 * 16 px, width x 2
    boxes = peers.retinaface_decode(loc, priors, 640)
    np.testing.assert_allclose(boxes[0], [5.6 - 16, 4 - 8, 5.6 + 16, 4 + 8], rtol=1e-5)
    np.testing.assert_allclose(boxes[1], [4 - 16, 4 - 16, 4 + 16, 4 + 16], rtol=1e-5)


def test_letterbox_round_trip():
    image = np.zeros((100, 200, 3), np.uint8)
    canvas, scale, offset = peers.letterbox(image, 64)
    assert canvas.shape == (64, 64, 3) and scale == pytest.approx(0.32) and offset == (0, 0)
    det = np.array([[32, 16, 48, 24, 0.5]], np.float32)
    np.testing.assert_allclose(peers.unletterbox(det, scale, offset), [[100, 50, 150, 75, 0.5]], rtol=1e-6)
    canvas, scale, offset = peers.letterbox(image, 64, fill=(1, 2, 3), centre=True)
    assert offset == (0, 16) and tuple(canvas[0, 0]) == (1, 2, 3)
    np.testing.assert_allclose(peers.unletterbox(det, scale, offset), [[100, 0, 150, 25, 0.5]], rtol=1e-6)


def test_mediapipe_decode_and_weighted_nms():
    anchors = peers.mediapipe_anchors(192)
    assert anchors.shape == (2304, 2)
    np.testing.assert_allclose(anchors[1] * 192, [6, 2])  # stride 4, one anchor per cell, row-major
    raw = np.zeros((2304, 16), np.float32)
    raw[1, :4] = [1.0, -2.0, 20.0, 10.0]  # offsets and size in input pixels
    logits = np.full(2304, -50.0, np.float32)
    logits[1] = 0.0
    boxes, scores = peers.mediapipe_decode(raw, logits, anchors, 192)
    np.testing.assert_allclose(boxes[1], [7 - 10, 0 - 5, 7 + 10, 0 + 5])
    assert scores[1] == pytest.approx(0.5) and scores[0] < 1e-20
    two = np.array([[0, 0, 10, 10], [2, 0, 12, 10], [50, 50, 60, 60]], np.float32)
    out = peers.weighted_nms(two, np.array([0.75, 0.25, 0.5], np.float32), score_thr=0.1, iou_thr=0.3)
    np.testing.assert_allclose(out, [[0.5, 0, 10.5, 10, 0.75], [50, 50, 60, 60, 0.5]])


def test_command_line_runs_each_row_in_a_child_and_writes_json_markdown_png(shared, tmp_path, capsys):
    if not (shared / "peers" / peers.PEERS["yunet"].model).is_file():
        pytest.skip("YuNet model not found under shared/peers")
    out = tmp_path / "out"
    argv = ["--rows", "yunet", "--limit", "2", "--shared", str(shared), "--out_dir", str(out),
            "--json", str(tmp_path / "r.json"), "--markdown", str(tmp_path / "r.md")]
    assert bench.main(argv) == 0
    import json

    report = json.loads((tmp_path / "r.json").read_text())
    (row,) = report["rows"]
    assert row["row"] == "yunet" and row["peak_rss_mib"] > 10 and 0 <= row["ap"]["hard"] <= 1
    assert report["images"] == 2 and set(report["cpu"]["flags"]) >= {"avx512f", "avx512_vnni", "avx512_bf16"}
    text = (tmp_path / "r.md").read_text()
    assert "CPU: " in text and "| YuNet 2026may | original size |" in text and "ours: not run" in text
    assert (out / "pr_curves.png").is_file() and len(list((out / "yunet" / "pred").glob("*/*.txt"))) == 2
    # ours without weights: one error line, exit status 1, nothing run
    assert bench.main(["--rows", "ours_ss", "--limit", "1", "--shared", str(shared), "--out_dir", str(out),
                       "--weights", str(tmp_path / "none.safetensors")]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: weights not found: ")


def test_bundled_models_run_as_ours_rows_one_pair_each(shared, tmp_path):
    """``--models`` runs the ours row once per bundled model, each named after it, in one table."""
    dataset = shared / "data" / "wider_face_real"
    if not (dataset / bench.ANNO_PATH).is_file():
        pytest.skip(f"WIDER val data not found under {dataset}")
    out = tmp_path / "out"
    argv = ["--rows", "ours_ss", "--models", "blazeface_1000e,blazeface_fpn_ssh_1000e", "--limit", "2",
            "--shared", str(shared), "--out_dir", str(out), "--markdown", str(tmp_path / "r.md")]
    assert bench.main(argv) == 0
    text = (tmp_path / "r.md").read_text()
    assert "| ours: BlazeFace (PaddleDetection, published) | single-scale" in text
    assert "| ours: BlazeFace-FPN-SSH (PaddleDetection, published) | single-scale" in text
    for model in ("blazeface_1000e", "blazeface_fpn_ssh_1000e"):
        assert len(list((out / f"ours_ss@{model}" / "pred").glob("*/*.txt"))) == 2
    assert bench.main(argv[:2] + ["--models", "blazeface_9000e"] + argv[4:]) == 1
