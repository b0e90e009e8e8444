"""deploy/python/infer.py: standalone predictor (no ppdet / ppdet_face), batching with padding,
CLI behaviour (errors, video, results, benchmark), oneDNN and clear TensorRT / GPU messages."""
import json
import os
import subprocess
import sys
import time

import cv2
import numpy as np
import paddle
import pytest

from helpers import REPO, normalize

INFER = REPO / "deploy" / "python" / "infer.py"


def images(seed=0, sizes=((200, 260), (311, 187), (96, 128), (240, 240))):
    """Deterministic BGR test images: smooth colours with face-like blobs."""
    rng = np.random.RandomState(seed)
    out = []
    for h, w in sizes:
        img = cv2.resize((rng.rand(max(2, h // 16), max(2, w // 16), 3) * 255).astype(np.uint8), (w, h),
                         interpolation=cv2.INTER_CUBIC)
        for _ in range(5):
            r = int(rng.randint(6, max(7, min(h, w) // 4)))
            c = (int(rng.randint(r, w - r)), int(rng.randint(r, h - r)))
            cv2.ellipse(img, c, (r, int(r * 1.3)), 0, 0, 360, tuple(int(v) for v in rng.randint(90, 230, 3)), -1)
        out.append(img)
    return out


def same(ref, out, size, what):
    """One-to-one match: score within 1e-4, coordinates within 1e-4 x image size."""
    ref, out = np.asarray(ref).reshape(-1, 6), np.asarray(out).reshape(-1, 6)
    ref = ref[(ref[:, 4] > ref[:, 2]) & (ref[:, 5] > ref[:, 3])]  # the export drops zero-area boxes
    assert len(ref) == len(out), f"{what}: {len(ref)} vs {len(out)} boxes"
    used = np.zeros(len(out), bool)
    for row in ref:
        ok = (~used) & (np.abs(out[:, 1] - row[1]) <= 1e-4) & \
             (np.abs(out[:, 2:] - row[2:]).max(axis=1) <= 1e-4 * max(size))
        assert ok.any(), f"{what}: no match for {row}"
        used[np.where(ok)[0][0]] = True


def reference(model, batch_bgr, resize=None):
    """Dygraph InferenceDetector on a batch built by hand: zero-padded, with im_shape/scale_factor."""
    from ppdet_face.export import InferenceDetector

    chws, shapes, scales = [], [], []
    for bgr in batch_bgr:
        h, w = bgr.shape[:2]
        if resize:
            bgr = cv2.resize(bgr, (resize, resize), interpolation=cv2.INTER_LINEAR)
        chws.append(normalize(bgr))
        shapes.append(chws[-1].shape[1:])
        scales.append([chws[-1].shape[1] / h, chws[-1].shape[2] / w])
    hmax, wmax = max(s[0] for s in shapes), max(s[1] for s in shapes)
    x = np.zeros((len(chws), 3, hmax, wmax), np.float32)
    for i, c in enumerate(chws):
        x[i, :, :c.shape[1], :c.shape[2]] = c
    with paddle.no_grad():
        bbox, num = InferenceDetector(model)({"image": paddle.to_tensor(x),
                                              "im_shape": paddle.to_tensor(np.array(shapes, np.float32)),
                                              "scale_factor": paddle.to_tensor(np.array(scales, np.float32))})
    bbox, num = bbox.numpy(), num.numpy()
    starts = np.concatenate([[0], np.cumsum(num)])
    return [bbox[starts[i]:starts[i + 1]] for i in range(len(chws))]


@pytest.mark.parametrize("backend,mkldnn", [("paddle", False), ("paddle", True), ("onnxruntime", False)])
def test_batches_of_different_sizes_are_padded_with_correct_im_shape(dynamic_export, backend, mkldnn):
    from deploy.python.infer import Detector

    model, save_dir = dynamic_export
    det = Detector(save_dir, backend=backend, enable_mkldnn=mkldnn, cpu_threads=2, batch_size=4)
    batch = images()
    got = det.predict(batch)
    expected = reference(model, batch)
    assert len(got) == 4 and sum(len(g) for g in got) > 20
    for i, (bgr, g, e) in enumerate(zip(batch, got, expected)):
        h, w = bgr.shape[:2]
        assert g.shape[1] == 6 and (g[:, [2, 4]] <= w + 1e-3).all() and (g[:, [3, 5]] <= h + 1e-3).all()
        same(e, g, (h, w), f"{backend} mkldnn={mkldnn} image {i} ({h}x{w}) in a padded batch")
    # A batch of one needs no padding: equals the plain dygraph model.
    single = det.predict([batch[1]])[0]
    with paddle.no_grad():
        out = model({"image": paddle.to_tensor(normalize(batch[1])[None]),
                     "im_shape": paddle.to_tensor([[311.0, 187.0]]), "scale_factor": paddle.ones([1, 2])})
    same(out["bbox"].numpy(), single, (311, 187), f"{backend} single image")


def test_images_above_max_side_are_scaled_down_and_boxes_map_back(dynamic_export, tmp_path, capsys):
    from deploy.python.infer import Detector, main

    model, save_dir = dynamic_export
    big = images(seed=3, sizes=((300, 480),))[0]
    det = Detector(save_dir, enable_mkldnn=True, cpu_threads=2, max_side=240)
    got = det.predict([big])[0]
    assert det.pipeline.downscaled == 1
    small = cv2.resize(big, (240, 150), interpolation=cv2.INTER_AREA)  # what the cap feeds the network
    with paddle.no_grad():
        out = model({"image": paddle.to_tensor(normalize(small)[None]), "im_shape": paddle.to_tensor([[150.0, 240.0]]),
                     "scale_factor": paddle.to_tensor([[0.5, 0.5]])})
    same(out["bbox"].numpy(), got, (300, 480), "image scaled down by max_side")
    assert len(got) > 3 and (got[:, [2, 4]] <= 480 + 1e-3).all() and got[:, 4].max() > 240  # original pixels
    # No cap (0), and images within the cap: untouched.
    assert Detector(save_dir, max_side=0).pipeline.max_side == 0
    det.predict([images(seed=3, sizes=((200, 240),))[0]])
    assert det.pipeline.downscaled == 1
    # The CLI says how many images it scaled down.
    cv2.imwrite(str(tmp_path / "big.jpg"), big)
    code = main(["--model_dir", save_dir, "--image_file", str(tmp_path / "big.jpg"), "--max_side", "240",
                 "--save_images", "False", "--output_dir", str(tmp_path / "out")])
    assert code == 0
    assert "1 image(s) larger than --max_side 240 px were scaled down" in capsys.readouterr().out
    assert main(["--model_dir", save_dir, "--image_file", str(tmp_path / "big.jpg"), "--max_side", "-1"]) == 2
    assert "max_side must be >= 0" in capsys.readouterr().err


def test_fixed_shape_exports_ignore_max_side(fixed_export):
    from deploy.python.infer import Detector

    assert Detector(fixed_export[1], max_side=100).pipeline.max_side == 0  # their Resize sets the size


@pytest.mark.parametrize("backend", ["paddle", "onnxruntime"])
def test_fixed_shape_model_maps_boxes_back_to_each_original_image(fixed_export, backend):
    from deploy.python.infer import Detector

    model, save_dir = fixed_export
    det = Detector(save_dir, backend=backend, enable_mkldnn=True, cpu_threads=2)
    batch = images(seed=2)
    got = det.predict(batch)
    expected = reference(model, batch, resize=320)
    for i, (bgr, g, e) in enumerate(zip(batch, got, expected)):
        same(e, g, bgr.shape[:2], f"{backend} fixed-shape image {i}")
        alone = det.predict([bgr])[0]
        same(alone, g, bgr.shape[:2], f"{backend} fixed-shape image {i}: batch vs alone")
    assert sum(len(g) for g in got) > 10


def test_predictor_imports_neither_ppdet_nor_ppdet_face(dynamic_export, tmp_path):
    _, save_dir = dynamic_export
    img = tmp_path / "in.jpg"
    cv2.imwrite(str(img), images()[0])
    guard = f"""
import sys
class Guard:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('ppdet', 'ppdet_face'):
            raise ImportError('forbidden import: ' + name)
        return None
sys.meta_path.insert(0, Guard())
sys.path.insert(0, {str(REPO)!r})
from deploy.python.infer import Detector, main
det = Detector({save_dir!r}, enable_mkldnn=True)
assert len(det.predict([{str(img)!r}])) == 1
code = main(['--model_dir', {save_dir!r}, '--image_file', {str(img)!r}, '--output_dir', {str(tmp_path / 'out')!r},
             '--backend', 'onnxruntime'])
assert code == 0, code
bad = [m for m in sys.modules if m.split('.')[0] in ('ppdet', 'ppdet_face')]
assert not bad, bad
print('OK')
"""
    res = subprocess.run([sys.executable, "-c", guard], capture_output=True, text=True, timeout=300,
                         cwd=str(tmp_path))
    assert res.returncode == 0 and "OK" in res.stdout, res.stderr[-3000:]
    assert (tmp_path / "out" / "in.jpg").is_file()
    # ... and as a script, by path, from another directory.
    res = subprocess.run([sys.executable, str(INFER), "--model_dir", save_dir, "--image_file", str(img),
                          "--output_dir", str(tmp_path / "out2"), "--threshold", "0.3"],
                         capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert res.returncode == 0, res.stderr[-3000:]
    assert "in.jpg:" in res.stdout and (tmp_path / "out2" / "in.jpg").is_file()


def test_cli_folder_reports_bad_files_continues_and_saves_results(dynamic_export, tmp_path, capsys):
    from deploy.python.infer import main

    _, save_dir = dynamic_export
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, img in enumerate(images()):
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
    assert drawn.shape == images()[1].shape and not np.array_equal(drawn, images()[1])


def test_cli_video_in_annotated_video_out(dynamic_export, tmp_path):
    from deploy.python.infer import main

    _, save_dir = dynamic_export
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 120))
    frames = images(seed=4, sizes=[(120, 160)] * 7)
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


@pytest.mark.parametrize("args,message", [
    (["--run_mode", "trt_fp16"], "--run_mode trt_fp16 runs TensorRT, which needs --device GPU"),
    (["--device", "GPU", "--run_mode", "trt_fp32"], "no CUDA support"),
    (["--device", "GPU"], "no CUDA support"),
    (["--device", "NPU"], "allowed values: CPU, GPU"),
    (["--backend", "tensorrt"], "allowed values: paddle, onnxruntime"),
])
def test_unavailable_devices_and_modes_fail_with_one_clear_message(dynamic_export, tmp_path, args, message, capsys):
    from deploy.python.infer import main

    if paddle.is_compiled_with_cuda():
        pytest.skip("this PaddlePaddle has CUDA; the CPU-only messages do not apply")
    _, save_dir = dynamic_export
    img = tmp_path / "a.jpg"
    cv2.imwrite(str(img), images()[0])
    code = main(["--model_dir", save_dir, "--image_file", str(img), "--output_dir", str(tmp_path)] + args)
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.startswith("error: ") and "Traceback" not in err


def test_missing_model_folder_and_onnx_file_are_clear(tmp_path, dynamic_export, capsys):
    from deploy.python.infer import main

    img = tmp_path / "a.jpg"
    cv2.imwrite(str(img), images()[0])
    assert main(["--model_dir", str(tmp_path), "--image_file", str(img)]) == 2
    assert "infer_cfg.yml not found" in capsys.readouterr().err
    _, save_dir = dynamic_export
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("infer_cfg.yml", "model.json", "model.pdiparams"):
        (bare / name).write_bytes((open(os.path.join(save_dir, name), "rb")).read())
    assert main(["--model_dir", str(bare), "--image_file", str(img), "--backend", "onnxruntime"]) == 2
    assert "--format onnx" in capsys.readouterr().err


def test_run_benchmark_prints_stages_and_writes_json(dynamic_export, tmp_path, capsys):
    from deploy.python.infer import main

    _, save_dir = dynamic_export
    img = tmp_path / "a.jpg"
    cv2.imwrite(str(img), images()[3])
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


@pytest.mark.parametrize("mkldnn", [True, False])
def test_enable_mkldnn_runs_onednn_kernels_without_crashing(dynamic_export, tmp_path, mkldnn):
    """--enable_mkldnn True runs the convolutions on oneDNN (seen in ONEDNN_VERBOSE), False does not.
    (That it is faster is measured by benchmarks/deploy_speed.py: the 'oneDNN off' row and its verdict.)"""
    cv2.imwrite(str(tmp_path / "a.png"), images(sizes=[(200, 240)])[0])
    env = dict(os.environ, ONEDNN_VERBOSE="1", PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, str(INFER), "--model_dir", dynamic_export[1], "--image_file",
                           str(tmp_path / "a.png"), "--enable_mkldnn", str(mkldnn), "--cpu_threads", "2",
                           "--save_images", "False"], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    conv_execs = [line for line in proc.stdout.splitlines()
                  if line.startswith("onednn_verbose") and ",exec," in line and ",convolution," in line]
    if mkldnn:
        assert len(conv_execs) >= 40, f"{len(conv_execs)} oneDNN convolutions ran"  # the model has 55 convs
    else:
        assert conv_execs == []
    assert "a.png: " in proc.stdout and " faces (score >= 0.5)" in proc.stdout


def test_cpu_predictor_keeps_freed_memory_mapped_so_runs_do_not_page_fault(fixed_export):
    """glibc would mmap/munmap every large activation buffer: thousands of page faults per run."""
    import platform
    import resource

    from deploy.python.infer import Detector, keep_freed_memory_in_heap

    if platform.libc_ver()[0] != "glibc" or any(k in os.environ for k in ("MALLOC_MMAP_MAX_",
                                                                           "MALLOC_TRIM_THRESHOLD_")):
        pytest.skip("glibc malloc tuning not applicable here")
    _, save_dir = fixed_export
    det = Detector(save_dir, enable_mkldnn=True, cpu_threads=2)  # fixed 320 x 320: tuned by default ("auto")
    assert det.malloc_tuned and keep_freed_memory_in_heap() is True
    img = images(sizes=[(320, 320)])[0]
    for _ in range(10):  # steady state: the first runs still grow the heap now and then (~500 faults)
        det.predict([img])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        det.predict([img])
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5
    assert faults < 200, f"{faults:.0f} page faults per 320x320 run"  # ~2,000+ without the tuning


def _load_benchmark(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_deploy_speed_targets_need_medians_and_cpu_time():
    bench = _load_benchmark("deploy_speed")

    def row(name, e2e, cpu, e2e_min=None):
        return {"detector": name, "e2e_ms": e2e, "e2e_cpu_ms": cpu, "e2e_min_ms": e2e_min or e2e}

    def verdicts(pd, ort, pd1, ort1):
        rows = [row(bench.PADDLE, *pd), row(bench.ORT, *ort), row(bench.PADDLE + bench.ONE_THREAD, pd1, pd1),
                row(bench.ORT + bench.ONE_THREAD, ort1, ort1), {"detector": "peer", "skipped": "absent"}]
        return bench.target_verdicts(rows, threads=2)

    v = verdicts((20.0, 38.0), (17.0, 33.0), 36.0, 30.0)
    assert v["e2e_paddle_onednn"]["met"] and v["ratio"]["met"]
    assert not verdicts((20.0, 46.0), (17.0, 33.0), 36.0, 30.0)["e2e_paddle_onednn"]["met"]  # 23 ms/thread of CPU
    # Contention slowed ORT's blocks: the medians say 0.8x, the CPU time says otherwise.
    fake = verdicts((24.0, 50.0), (30.0, 36.0), 40.0, 30.0)
    assert fake["ratio"]["wall"] < 1.0 and not fake["ratio"]["met"]
    assert not verdicts((24.0, 40.0), (22.0, 39.0), 40.0, 30.0)["ratio"]["met"]  # 1.33x single-threaded
    lines = "\n".join(bench.target_lines([row(bench.PADDLE, 30.0, 60.0), row(bench.ORT, 20.0, 40.0)], threads=2))
    assert lines.count("NOT MET") == 2 and "1.50x by medians" in lines  # ORT: 20 ms, 20 ms/thread: MET
    # oneDNN vs plain kernels: faster only if both the median and the CPU time say so.
    plain = [row(bench.PADDLE, 30.0, 60.0), row(bench.ORT, 20.0, 40.0), row(bench.PLAIN, 45.0, 70.0)]
    assert bench.target_verdicts(plain, threads=2)["onednn_speedup"]["met"]
    plain[2] = row(bench.PLAIN, 45.0, 55.0)
    assert not bench.target_verdicts(plain, threads=2)["onednn_speedup"]["met"]
    assert "faster than without: 1.50x by medians, 0.92x by CPU time -> NOT MET" in \
        "\n".join(bench.target_lines(plain, threads=2))


def test_deploy_soak_reports_rss_start_end_peak(dynamic_export, tmp_path, capsys):
    soak = _load_benchmark("deploy_soak")
    _, save_dir = dynamic_export
    code = soak.main(["--num_images", "110", "--min_size", "48", "--max_size", "96", "--batch_sizes", "1", "3",
                      "--model_dir", save_dir, "--interval", "0.05", "--json", str(tmp_path / "soak.json")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "| batch | start (images done) | end (images done) | peak" in out
    reports = json.loads((tmp_path / "soak.json").read_text())["reports"]
    assert [r["batch_size"] for r in reports] == [1, 3]
    for r in reports:
        assert r["exit_code"] == 0 and "110/110 images processed" in r["last_stdout_line"]
        assert 0 < r["start"]["rss_mb"] <= r["peak_rss_hwm_mb"] and r["end"]["rss_mb"] <= r["peak_rss_hwm_mb"]
        assert r["samples"] >= 2


def test_empty_and_unreadable_files_are_deploy_errors(tmp_path):
    from deploy.python.preprocess import DeployError, decode_image

    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(DeployError, match="empty file"):
        decode_image(str(empty))
    with pytest.raises(DeployError, match="not a readable image"):
        decode_image(b"")


def test_image_extensions_are_the_packages_copy():
    """deploy keeps its own IMAGE_EXTS (it may not import eval_tools): the same as eval_tools' tuple."""
    from deploy.python.infer import IMAGE_EXTS
    from eval_tools.wider_format import IMAGE_EXTENSIONS

    assert IMAGE_EXTS == IMAGE_EXTENSIONS


def test_image_dir_recurses_into_subfolders_in_sorted_order(tmp_path):
    from deploy.python.infer import _collect_images, _output_path, parse_args

    folder = tmp_path / "images"
    names = ["10--People/b.jpg", "0--Parade/z.PNG", "0--Parade/a.jpg", "top.bmp", "0--Parade/deep/x.jpeg",
             "0--Parade/notes.txt", ".hidden/h.jpg", "0--Parade/.a.jpg"]
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"x")
    args = parse_args(["--model_dir", "m", "--image_dir", str(folder), "--output_dir", str(tmp_path / "out")])
    found = _collect_images(args)
    assert [os.path.relpath(f, folder) for f in found] == [
        "0--Parade/a.jpg", "0--Parade/deep/x.jpeg", "0--Parade/z.PNG", "10--People/b.jpg", "top.bmp"]
    assert _collect_images(args) == found  # deterministic
    # visualised images keep their subfolder, so equal names in two events do not overwrite each other
    assert _output_path(found[0], args) == str(tmp_path / "out" / "0--Parade" / "a.jpg")
    args.image_file = str(tmp_path / "elsewhere.jpg")
    assert _output_path(args.image_file, args) == str(tmp_path / "out" / "elsewhere.jpg")


def test_image_dir_finds_the_200_real_wider_val_images(shared):
    from deploy.python.infer import _collect_images, parse_args

    folder = shared / "data" / "wider_face_real" / "WIDER_val" / "images"
    if not folder.is_dir():
        pytest.skip(f"real WIDER val images not found at {folder} (set PPDET_FACE_SHARED)")
    found = _collect_images(parse_args(["--model_dir", "m", "--image_dir", str(folder)]))
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


def test_heap_guard_trims_only_when_free_heap_outgrows_its_budget_after_a_shape_change():
    from deploy.python.infer import _HeapGuard

    guard = _HeapGuard(budget_mb=100)
    if guard.libc is None:
        pytest.skip("not glibc: the guard is a no-op")
    trims = []
    slack = {"mb": 50}
    guard.libc = type("Libc", (), {"malloc_trim": staticmethod(lambda pad: trims.append(pad))})()
    guard._slack = lambda: slack["mb"] * 2 ** 20
    guard((1, 3, 320, 320))            # first run: the baseline (50 MiB free in the heap)
    slack["mb"] = 200
    guard((1, 3, 320, 320))            # same shape: not even measured
    assert trims == []
    slack["mb"] = 140
    guard((1, 3, 480, 320))            # new shape, +90 MiB: within the budget
    assert trims == []
    slack["mb"] = 160
    guard((1, 3, 320, 480))            # new shape, +110 MiB: trimmed
    assert trims == [0] and guard.trims == 1
    slack["mb"] = 20
    guard((1, 3, 640, 640))            # less than the baseline: the new baseline
    slack["mb"] = 110
    guard((1, 3, 320, 320))
    assert trims == [0] and guard.base == 20 * 2 ** 20


def test_heap_guard_reads_real_heap_figures():
    from deploy.python.infer import _HeapGuard

    guard = _HeapGuard()
    if guard.libc is None:
        pytest.skip("not glibc: the guard is a no-op")
    slack = guard._slack()
    assert isinstance(slack, int) and abs(slack) < 64 * 2 ** 30  # RSS minus malloc's in-use bytes, sane


def _bad_and_odd_images(folder):
    """The image cases of the reliability table, written into ``folder``; returns (bad, fine) names."""
    base = images(seed=4, sizes=((120, 160),))[0]
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
    from deploy.python.infer import main

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
    from deploy.python.infer import main

    (tmp_path / "folder.jpg").mkdir()
    code = main(["--model_dir", dynamic_export[1], "--image_file", str(tmp_path / name), "--save_images", "False"])
    captured = capsys.readouterr()
    assert code == 1 and "Traceback" not in captured.err
    assert f"error: {tmp_path / name}: {message}" in captured.err.splitlines()
