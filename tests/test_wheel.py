"""`pip install .`'s wheel: it holds ppdet_face, eval_tools and the deploy package with the bundled models, and in a
fresh virtual environment outside the repository `ppdet-face detect` and the Python API find the portrait's face.

The fresh environment reuses this environment's pinned packages through a ``.pth`` line (no download, no
compilation), and the wheel is installed with ``--no-deps``: what is tested is the wheel's own content."""
import json
import subprocess
import sys
import sysconfig
import zipfile

import cv2
import pytest

from helpers import REPO, real_photo


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(out), str(REPO)], check=True, capture_output=True)
    (found,) = out.glob("ppdet_face-*.whl")
    return found


@pytest.fixture(scope="module")
def fresh_env(wheel, tmp_path_factory):
    env = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = env / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    with open(f"{purelib}/_pinned_packages.pth", "w", encoding="utf-8") as f:
        f.write(sysconfig.get_paths()["purelib"] + "\n")  # numpy, OpenCV, runtimes (and pip) of this environment
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True)
    return env


def test_wheel_holds_the_packages_and_the_bundled_models(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for pkg in ("ppdet_face/__init__.py", "eval_tools/__init__.py", "ppdet_face_deploy/api.py",
                "ppdet_face/ops/csrc/depthwise_conv.cc"):
        assert pkg in names
    for model in ("blazeface_fpn_ssh_1000e", "blazeface_1000e", "blazeface_fpn_ssh_wider_real"):
        for f in ("infer_cfg.yml", "model.onnx", "model.json", "model.pdiparams", "model_card.md"):
            assert f"ppdet_face_deploy/models/{model}/{f}" in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "devtools/"))]


def test_command_and_api_from_the_installed_wheel(fresh_env, tmp_path):
    photo = tmp_path / "portrait.jpg"
    cv2.imwrite(str(photo), real_photo())
    run = dict(cwd=tmp_path, capture_output=True, text=True, timeout=300)
    cli = subprocess.run([str(fresh_env / "bin" / "ppdet-face"), "detect", str(photo), "--json", "faces.json",
                          "--save", "out"], **run)
    assert cli.returncode == 0, cli.stderr
    assert f"{photo}: 1 faces" in cli.stdout and (tmp_path / "out" / "portrait.jpg").is_file()
    assert len(json.loads((tmp_path / "faces.json").read_text())[0]["detections"]) == 1
    code = ("import sys, ppdet_face_deploy as p; f = p.FaceDetector().detect(sys.argv[1]); "
            "print(p.__file__, len(f), 'ppdet' in sys.modules, 'ppdet_face' in sys.modules)")
    api = subprocess.run([str(fresh_env / "bin" / "python"), "-c", code, str(photo)], **run)
    assert api.returncode == 0, api.stderr
    where, count, ppdet, ppdet_face = api.stdout.split()
    assert where.startswith(str(fresh_env)) and count == "1" and ppdet == ppdet_face == "False"
