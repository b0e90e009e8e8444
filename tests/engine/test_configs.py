"""Every shipped config builds, and runs one real train step (reader included) and one eval step."""

import numpy as np
import paddle
import pytest
from ppdet.core.workspace import create

from helpers import CONFIGS
from ppdet_face.engine import ConfigError, load_config, parse_overrides

LEAF_CONFIGS = sorted(p.name for p in (CONFIGS / "face_detection").glob("*.yml"))


@pytest.fixture(scope="module")
def tiny_wider(tmp_path_factory):
    from ppdet_face.data.synthetic import generate_wider_dataset

    root = tmp_path_factory.mktemp("tiny_wider")
    generate_wider_dataset(root, num_train=4, num_val=2, seed=1, image_size=(160, 240), progress=False)
    return root


def test_every_leaf_config_is_listed():
    assert {"blazeface_fpn_ssh_1000e.yml", "blazeface_1000e.yml", "blazeface_fpn_ssh_demo.yml"} <= set(LEAF_CONFIGS)


@pytest.mark.parametrize("name", LEAF_CONFIGS)
def test_config_trains_one_step_and_evaluates(name, tiny_wider):
    own = load_config(str(CONFIGS / "face_detection" / name))
    num_landmarks = own["FaceAnchorHead"].get("num_landmarks", 0) if "FaceAnchorHead" in own else 0
    kps = "Kps" if num_landmarks else ""  # the landmark configs' ops also move the points (synthetic: exact ones)
    pad = ("" if any(op.endswith("PadGT") for t in own["TrainReader"].get("batch_transforms", []) for op in t)
           else f", {{{kps}PadBox: {{num_max_boxes: 90}}}}")  # PadGT pads per batch
    overrides = [f"TrainDataset.dataset_dir={tiny_wider}", f"EvalDataset.dataset_dir={tiny_wider}",
                 "TrainReader.batch_size=2", "worker_num=0",
                 f"TrainReader.sample_transforms=[{{Decode: {{}}}}, {{{kps}RandomFlip: {{}}}}, "
                 f"{{{kps}Resize: {{target_size: [160, 160], keep_ratio: false, interp: 1}}}}, "
                 f"{{{kps}NormalizeBox: {{}}}}" + pad + "]"]
    cfg = load_config(str(CONFIGS / "face_detection" / name), overrides)
    paddle.seed(0)
    model = create(cfg.architecture)
    dataset = cfg["TrainDataset"]
    loader = create("TrainReader")(dataset, cfg.worker_num)
    batch = next(iter(loader))
    assert list(batch["image"].shape) == [2, 3, 160, 160]
    model.train()
    out = model(batch)
    assert np.isfinite(float(out["loss"]))
    assert ("loss_landmarks" in out) == bool(num_landmarks)
    out["loss"].backward()
    opt = paddle.optimizer.RMSProp(0.001, parameters=model.parameters())
    opt.step()
    model.eval()
    with paddle.no_grad():
        pred = model({"image": batch["image"][:1], "im_shape": batch["im_shape"][:1],
                      "scale_factor": batch["scale_factor"][:1]})
    assert pred["bbox"].shape[-1] == 6 + 2 * num_landmarks and int(pred["bbox_num"].sum()) == pred["bbox"].shape[0]


def test_override_with_bad_yaml_value_is_a_clear_error():
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(str(CONFIGS / "face_detection" / "blazeface_1000e.yml"), ["epoch=[1, 2"])


def test_python_object_tags_are_refused(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("epoch: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="refused"):
        load_config(str(bad))


@pytest.mark.parametrize("override,message", [
    ("BlazeFaceNeck.neck_typ=fpn", "BlazeFaceNeck.neck_typ: unknown option; did you mean 'neck_type'"),
    ("BlazeFaceDetector.backbone=BlazeFaceBackbon",
     "unknown component 'BlazeFaceBackbon'; did you mean 'BlazeFaceBackbone'"),
    ("architecture=BlazeFaceDetecter", "did you mean 'BlazeFaceDetector'"),
    ("BlazeFaceBackbon={act: relu}", "unknown component section 'BlazeFaceBackbon'"),
    ("TrainDataset.dataset_dri=x", "WIDERFaceDetDataset has no option 'dataset_dri'"),
    ("snapshot_epcoh=5", "unknown top-level key 'snapshot_epcoh'; did you mean 'snapshot_epoch'"),
    ("pretrain_weight=a.pdparams", "unknown top-level key 'pretrain_weight'; did you mean 'pretrain_weights'"),
])
def test_misspelled_names_are_errors_with_a_suggestion(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(str(CONFIGS / "face_detection" / "blazeface_fpn_ssh_1000e.yml"), [override])


def test_loading_a_second_config_forgets_the_first():
    load_config(str(CONFIGS / "face_detection" / "blazeface_fpn_ssh_1000e.yml"), ["BlazeFaceNeck.neck_type=only_ssh"])
    cfg = load_config(str(CONFIGS / "face_detection" / "blazeface_fpn_ssh_1000e.yml"))
    assert cfg["BlazeFaceNeck"]["neck_type"] == "fpn_ssh"


def test_misspelled_top_level_key_in_a_yaml_file_names_it(tmp_path):
    cfg = tmp_path / "typo.yml"
    cfg.write_text(f"_BASE_: ['{CONFIGS / 'face_detection' / 'blazeface_1000e.yml'}']\nlog_itre: 5\n")
    with pytest.raises(ConfigError, match="unknown top-level key 'log_itre'; did you mean 'log_iter'"):
        load_config(str(cfg))


def test_every_top_level_key_of_the_shipped_configs_is_known():
    from ppdet_face.engine.config import TOP_LEVEL_KEYS

    for path in sorted((CONFIGS / "face_detection").glob("*.yml")):
        cfg = load_config(str(path))
        plain = {k for k, v in cfg.items() if k[:1].islower() and not hasattr(v, "schema")}
        assert plain and plain <= TOP_LEVEL_KEYS, (path.name, plain - TOP_LEVEL_KEYS)


def test_floats_without_a_dot_are_floats_in_files_and_overrides(tmp_path):
    """YAML 1.1 (ppdet's loader) reads 1e30 / 5e-4 as strings; training would then fail deep in ppdet."""
    cfg_file = tmp_path / "lr.yml"
    cfg_file.write_text(f"_BASE_: ['{CONFIGS / 'face_detection' / 'blazeface_1000e.yml'}']\n"
                        "LearningRate:\n  base_lr: 5e-4\n  schedulers:\n  - !PiecewiseDecay\n"
                        "    milestones: [1]\n    values: [1e-3, 2e+1]\n")
    cfg = load_config(str(cfg_file))
    assert cfg["LearningRate"]["base_lr"] == 5e-4 and isinstance(cfg["LearningRate"]["base_lr"], float)
    assert cfg["LearningRate"]["schedulers"][0].values == [1e-3, 20.0]
    cfg = load_config(str(cfg_file), ["LearningRate.base_lr=1e30"])
    assert cfg["LearningRate"]["base_lr"] == 1e30
    assert parse_overrides(["a.b=[1e-3, {c: 2e+1}]"]) == {"a": {"b": [1e-3, {"c": 20.0}]}}  # nested -o values too


@pytest.mark.parametrize("override,message", [
    ("epoch=!!python/object/apply:os.system [ls]", r"-o 'epoch=!!python/object/apply:os.system \[ls\]': python object "
                                                   r"tags are refused"),
    ("epoch", r"-o 'epoch': expected key=value"),
])
def test_bad_overrides_are_one_clear_error(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(str(CONFIGS / "face_detection" / "blazeface_1000e.yml"), [override])


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match=f"config file not found: {tmp_path / 'nope.yml'}"):
        load_config(str(tmp_path / "nope.yml"))


@pytest.mark.parametrize("config,loss,variances", [
    ("blazeface_fpn_ssh_1000e.yml", "BlazeFaceSSDLoss", [0.1, 0.1, 0.2, 0.2]),
    ("ssh_vgg16_wider.yml", "SSHLoss", [1.0, 1.0, 1.0, 1.0])])
def test_box_variances_are_set_once_on_the_head(config, loss, variances):
    """The loss and the post-process take the head's box coder: no variance of theirs can disagree with it."""
    from ppdet.core.workspace import create

    path = str(CONFIGS / "face_detection" / config)
    for section in (loss, "FacePostProcess"):
        with pytest.raises(ConfigError, match=f"{section}.prior_box_var: unknown option"):
            load_config(path, [f"{section}.prior_box_var=[1.0, 1.0, 1.0, 1.0]"])
    model = create(load_config(path).architecture)
    assert model.head.box_coder.variances == variances
    doubled = load_config(path, [f"FaceAnchorHead.prior_box_var=[{', '.join(str(2 * v) for v in variances)}]"])
    assert create(doubled.architecture).head.box_coder.variances == [2 * v for v in variances]
