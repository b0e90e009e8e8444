"""deploy/python/benchmark.py: --run_benchmark prints the stage times and writes the JSON summary."""
import json

import cv2

from helpers import blob_images


def test_run_benchmark_prints_stages_and_writes_json(dynamic_export, tmp_path, capsys):
    from ppdet_face_deploy.infer import main

    _, save_dir = dynamic_export
    img = tmp_path / "a.jpg"
    cv2.imwrite(str(img), blob_images()[3])
    path = tmp_path / "bench.json"
    code = main(["--model_dir", save_dir, "--image_file", str(img), "--run_benchmark", "True", "--enable_mkldnn",
                 "True", "--cpu_threads", "2", "--benchmark_warmup", "2", "--benchmark_repeats", "5",
                 "--benchmark_json", str(path)])
    out = capsys.readouterr().out
    assert code == 0 and "QPS" in out and "peak RSS" in out
    for stage in ("preprocess", "inference", "postprocess", "end_to_end"):
        assert stage in out
    summary = json.loads(path.read_text())
    assert summary["inference"]["count"] == 5 and summary["qps"] > 0 and summary["peak_rss_mb"] > 0
    assert set(summary["end_to_end"]) >= {"mean", "p50", "p90", "p99"}
