"""Install PyPI's paddledet 2.6.0 with corrected dependency metadata.

Why: paddledet 2.6.0 (the newest release on PyPI, 2023) declares requirements that
cannot be met together with PaddlePaddle 3 on Python 3.11 today:

* ``sklearn==0.0`` -- the deprecated ``sklearn`` placeholder now refuses to install;
  the real package is ``scikit-learn``.
* ``numpy<1.24`` and ``opencv-python<=4.6.0`` -- ppdet's own code runs on numpy 2 and
  OpenCV 5 (our compat module fixes the few places that do not), while
  ``cv2.FaceDetectorYN`` (peer benchmarks) needs OpenCV >= 4.8.
* ``lap``, ``motmetrics``, ``visualdl``, ``pyclipper`` -- only used by ppdet's tracking,
  OCR-style and logging extras, never imported by face detection.

So we download the unchanged wheel from PyPI, rewrite only its ``Requires-Dist``
lines (and the RECORD hash of METADATA), tag the version ``2.6.0+ppdetface`` and
install it with ``--no-deps``. The Python code inside is byte-for-byte PyPI's, and
``pip check`` stays clean. Nothing in site-packages is edited after install.

Usage: python tools/install_paddledet.py [--wheel-dir .wheels]
"""
import argparse
import base64
import hashlib
import pathlib
import subprocess
import sys
import tempfile
import zipfile

VERSION = "2.6.0"
LOCAL = "ppdetface"
# What ppdet 2.6.0 imports at `import ppdet` (checked by tests/test_setup.py).
REQUIRES = [
    "numpy", "tqdm", "typeguard", "PyYAML", "shapely", "scipy", "terminaltables",
    "Cython", "pycocotools", "setuptools", "scikit-learn", "pandas", "matplotlib",
    "requests", "six", "opencv-python-headless",
]


def _record_hash(data):
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def repack(src, dst_dir):
    """Rewrite the wheel ``src`` into ``dst_dir``; return the new wheel path."""
    new_version = f"{VERSION}+{LOCAL}"
    old_info = f"paddledet-{VERSION}.dist-info"
    new_info = f"paddledet-{new_version}.dist-info"
    dst = pathlib.Path(dst_dir) / f"paddledet-{new_version}-py3-none-any.whl"
    with zipfile.ZipFile(src) as zin:
        names = zin.namelist()
        if f"{old_info}/METADATA" not in names:
            raise SystemExit(f"error: {src} is not paddledet {VERSION} (no {old_info}/METADATA)")
        files = {}
        for name in names:
            data = zin.read(name)
            if name.startswith(old_info + "/"):
                name = new_info + name[len(old_info):]
            files[name] = data
    meta = files[f"{new_info}/METADATA"].decode("utf-8").splitlines()
    out = []
    for line in meta:
        if line.startswith("Requires-Dist:"):
            continue
        if line.startswith("Version:"):
            line = f"Version: {new_version}"
        out.append(line)
        if line.startswith("Version:"):
            out.extend(f"Requires-Dist: {r}" for r in REQUIRES)
    files[f"{new_info}/METADATA"] = ("\n".join(out) + "\n").encode("utf-8")
    record_name = f"{new_info}/RECORD"
    rows = []
    for name, data in files.items():
        if name == record_name:
            continue
        rows.append(f"{name},{_record_hash(data)},{len(data)}")
    rows.append(f"{record_name},,")
    files[record_name] = ("\n".join(rows) + "\n").encode("utf-8")
    dst.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in files.items():
            zout.writestr(name, data)
    return dst


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # --wheel-dir: the old spelling, accepted for one release (this script runs before eval_tools' FlagParser exists)
    parser.add_argument("--wheel_dir", "--wheel-dir", default=".wheels",
                        help="where the repacked wheel goes. Default: .wheels")
    args = parser.parse_args()
    pip = [sys.executable, "-m", "pip"]
    with tempfile.TemporaryDirectory() as tmp:
        cmd = pip + ["download", "--no-deps", "--quiet", "-d", tmp, f"paddledet=={VERSION}"]
        if subprocess.call(cmd) != 0:
            raise SystemExit(f"error: could not download paddledet=={VERSION} from the package index")
        src = next(pathlib.Path(tmp).glob("paddledet-*.whl"))
        wheel = repack(src, args.wheel_dir)
    subprocess.check_call(pip + ["install", "--quiet", "--no-deps", "--force-reinstall", str(wheel)])
    print(f"installed {wheel.name}")


if __name__ == "__main__":
    main()
