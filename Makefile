# ppdet-face: `make demo` and `make test` work on a fresh machine (Python 3.11, no GPU).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.ppdet-face-installed
SHARED ?= ../shared

.PHONY: venv demo test lint build clean bench bench-train bench-deploy bench-eval bench-real bench-landmarks bundled-models

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml setup.py tools/install_paddledet.py eval_tools/_box_overlaps.pyx
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	$(PY) tools/install_paddledet.py --wheel_dir .wheels
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	$(PIP) check
	touch $@

build: venv
	$(PY) setup.py build_ext --inplace >/dev/null

demo: venv
	$(PY) tools/demo.py

lint: venv
	$(PY) -m ruff check .

test: venv lint
	PPDET_FACE_SHARED=$(SHARED) $(PY) -m pytest -q tests

bench: bench-train bench-eval bench-deploy bench-real bench-landmarks

bench-train: venv
	$(PY) -m benchmarks.train_speed

bench-eval: venv
	$(PY) -m benchmarks.eval_speed
	$(PY) -m benchmarks.ms_eval_speed

# One run, the OpenVINO issue's table: every backend x precision and the peers at 640x640 (each at its deployment score
# threshold), then on the 200 real val images at their own size (AP, median / p90 ms; AP thresholds), then where the
# time goes in OpenVINO (per-node profile).
DEPLOY_ROWS = deploy_paddle,deploy_ort,deploy_ov_f32,deploy_ov_bf16,deploy_ov_int8,yunet,scrfd_500m,scrfd_2.5g,retinaface_mnet025,ultralight_rfb640,mediapipe_full
bench-deploy: venv
	PPDET_FACE_SHARED=$(SHARED) $(PY) -m benchmarks.deploy_speed --json output/bench_deploy/deploy_speed.json
	PPDET_FACE_SHARED=$(SHARED) $(PY) -m benchmarks.wider_real --rows $(DEPLOY_ROWS) --out_dir output/bench_deploy/real \
		--json output/bench_deploy/real.json --markdown output/bench_deploy/real.md \
		--plot output/bench_deploy/real_pr_curves.png
	PPDET_FACE_SHARED=$(SHARED) $(PY) -m benchmarks.profile_deploy

# WIDER AP, speed and memory of ours (the default bundled model, PaddleDetection's published BlazeFace-FPN-SSH in
# pretrained/) and the peers on the 200 real val images; BENCH_REAL_ARGS="--models blazeface_fpn_ssh_1000e,blazeface_1000e"
# scores several bundled models in one table, BENCH_REAL_ARGS=--random_weights speed and memory only.
BENCH_REAL_ARGS ?=
bench-real: venv
	PPDET_FACE_SHARED=$(SHARED) $(PY) -m benchmarks.wider_real --json output/wider_real/wider_real.json \
		--markdown output/wider_real/wider_real.md $(BENCH_REAL_ARGS)

# Re-export the bundled real-face models into the deploy package (deploy/python/models/) after a change to the
# weights, the configs or the export; tests/pretrained/test_bundled_exports.py fails until this is run.
# Five-point landmarks (docs/landmarks.md): NME of the peers with landmarks and of our bundled models (the landmark
# model among them) on the dlib faces and a synthetic val set, then the latency of the landmark model against the
# box-only one on every runtime at 640x640.
bench-landmarks: venv
	PPDET_FACE_SHARED=$(SHARED) $(PY) -m benchmarks.landmarks_nme
	PPDET_FACE_SHARED=$(SHARED) $(PY) -m benchmarks.landmark_speed

bundled-models: venv
	rm -rf deploy/python/models
	$(PY) tools/export_bundled.py

clean:
	rm -rf build *.egg-info eval_tools/*.so eval_tools/*.c output output_inference
