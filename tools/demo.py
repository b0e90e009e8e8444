"""The main job on the bundled default: data -> train -> evaluate -> export -> deploy.

`make demo` runs this. Every step is a real run of the public tools; the summary lists only
steps that ran, and the script exits non-zero as soon as one fails. The demo model detects five landmarks per face
too (configs/face_detection/blazeface_fpn_ssh_kps_demo.yml): the pictures show them and the summary prints their NME.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The demo model with five landmarks per face (the synthetic faces carry their exact points).
CONFIG = "configs/face_detection/blazeface_fpn_ssh_kps_demo.yml"
NAME = "blazeface_fpn_ssh_kps_demo"
AP_TARGET = 0.9
# The settings the target applies to. "hard" adds 8-16 px faces, below BlazeFace's smallest anchor
# (16 px at stride 8); it is printed, not gated (PaddleDetection's WIDER model: 0.907 / 0.883 / 0.793).
GATED = ("easy", "medium")


def run(step, cmd, log):
    """Run one step, streaming its output to the terminal and to ``log``; exit on failure."""
    print(f"\n=== {step}: {' '.join(cmd)}", flush=True)
    start = time.time()
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            f.write(line)
            if "Warning" not in line and "warnings.warn" not in line:
                sys.stdout.write(line)
        proc.wait()
    if proc.returncode != 0:
        sys.exit(f"demo: step '{step}' failed (exit {proc.returncode}); full log: {log}")
    return time.time() - start


def _landmark_nme(model_dir, data):
    """Five-point NME of the exported demo model on the synthetic val set's exact points (eval_tools.landmarks)."""
    from benchmarks.landmarks_nme import measure_landmarks, ours_detect
    from eval_tools.landmarks import read_label_landmarks

    detect, _ = ours_detect(model_dir, os.cpu_count() or 1, backend="paddle", threshold=0.5)
    faces = read_label_landmarks(os.path.join(data, "retinaface", "val", "label.txt"))
    return measure_landmarks(detect, os.path.join(data, "WIDER_val", "images"), faces)


def _shared_dir():
    from ppdet_face.utils.shared import shared_dir

    return str(shared_dir())


def _real_faces(py, out, artefacts):
    """The default bundled real-face model (PaddleDetection's published BlazeFace-FPN-SSH, shipped exported in the
    deploy package) through the ``ppdet-face`` command on real photos: matplotlib's sample portrait (every machine
    has it) and, when ../shared exists, the 9 WIDER val images of its subset."""
    import matplotlib

    photos = {"portrait": os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")}
    subset = os.path.join(_shared_dir(), "data", "wider_face_val_subset", "WIDER_val", "images")
    if os.path.isdir(subset):
        photos["wider_subset"] = subset
    else:
        print(f"\n=== real WIDER images skipped: {subset} not found (set PPDET_FACE_SHARED)", flush=True)
    for name, path in photos.items():
        vis_dir = os.path.join(out, f"vis_real_{name}")
        shutil.rmtree(vis_dir, ignore_errors=True)
        run(f"ppdet-face detect, real faces ({name})",
            [py, "-m", "ppdet_face_deploy.cli", "detect", path, "--save", vis_dir, "--json",
             os.path.join(vis_dir, "faces.json")], os.path.join(out, f"deploy_real_{name}.log"))
        artefacts.append((f"real faces, {name}: pictures + faces.json", vis_dir))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default="output/demo", help="where logs and results go. Default: output/demo")
    parser.add_argument("--epochs", type=int, default=None, help="override the demo config's epoch count")
    parser.add_argument("--fresh", action="store_true", help="regenerate the data and retrain from scratch")
    args = parser.parse_args()
    out = os.path.join(REPO, args.output)
    os.makedirs(out, exist_ok=True)
    py = sys.executable
    data = os.path.join(REPO, "dataset", "synthetic")
    artefacts = []

    marker = os.path.join(data, "SYNTHETIC_WIDER.txt")
    wanted = "num_train=400 num_val=60 seed=0 image_size=256,384"
    have = open(marker).read() if os.path.isfile(marker) else ""
    if args.fresh or wanted not in have:
        run("data", [py, "tools/make_synthetic_wider.py", "--out", data, "--num_train", "400", "--num_val", "60",
                     "--min_size", "256", "--max_size", "384", "--seed", "0",
                     "--preview", os.path.join(out, "data_preview.png"), "--no_progress"],
            os.path.join(out, "data.log"))
        artefacts.append(("synthetic WIDER-layout data", data))
        artefacts.append(("data preview", os.path.join(out, "data_preview.png")))

    weights = os.path.join(REPO, "output", NAME, "model_final")
    train_cmd = [py, "tools/train.py", "-c", CONFIG, "--seed", "0"]
    if args.epochs:
        train_cmd += ["-o", f"epoch={args.epochs}"]
    secs = run("train", train_cmd, os.path.join(out, "train.log"))
    artefacts.append((f"trained weights ({secs / 60:.1f} min)", weights + ".pdparams"))

    ap_json = os.path.join(out, "eval_ap.json")
    run("evaluate", [py, "tools/eval.py", "-c", CONFIG, "--pred_dir", os.path.join(out, "pred"), "--json", ap_json,
                     "-o", f"weights={weights}"], os.path.join(out, "eval.log"))
    with open(ap_json) as f:
        ap = json.load(f)["ap"]
    artefacts.append(("WIDER-format predictions", os.path.join(out, "pred")))

    export_dir = os.path.join(REPO, "output_inference")
    run("export", [py, "tools/export_model.py", "-c", CONFIG, "--output_dir", export_dir, "-o", f"weights={weights}"],
        os.path.join(out, "export.log"))
    model_dir = os.path.join(export_dir, NAME)
    artefacts.append(("inference model", model_dir))

    vis_dir = os.path.join(out, "vis")
    shutil.rmtree(vis_dir, ignore_errors=True)
    run("deploy", [py, "deploy/python/infer.py", "--model_dir", model_dir, "--image_dir",
                   os.path.join(data, "WIDER_val", "images", "2--Portrait"), "--output_dir", vis_dir,
                   "--save_results", "--threshold", "0.5", "--enable_mkldnn", "True"], os.path.join(out, "deploy.log"))
    artefacts.append(("pictures with boxes, landmarks + JSON", vis_dir))
    nme = _landmark_nme(model_dir, data)

    _real_faces(py, out, artefacts)
    print("\n=== demo summary")
    for what, where in artefacts:
        print(f"  {what:<40} {os.path.relpath(where, REPO)}")
    print("  held-out synthetic val AP: " + "  ".join(f"{k} {v:.4f}" for k, v in ap.items()))
    print(f"  five-point landmarks on it (score >= 0.5): NME {nme.mean:.4f} over {nme.matched} / {nme.total} faces, "
          f"failure rate (NME > 0.1) {nme.failure_rate:.3f}")
    bad = {k: ap[k] for k in GATED if ap.get(k) is None or ap[k] < AP_TARGET}
    if bad:
        sys.exit(f"demo: AP below the {AP_TARGET} target in {sorted(bad)}")
    print(f"  AP >= {AP_TARGET} on {' and '.join(GATED)}: the demo model learned.")


if __name__ == "__main__":
    main()
