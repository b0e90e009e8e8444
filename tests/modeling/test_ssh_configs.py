"""Every SSH config: builds, one train step reaches every trainable parameter, paddle.vision ImageNet
weights load into the backbone through its key mapping, and the export (Paddle and ONNX) equals the
dygraph ``detect``. Inputs are 128 px so VGG16 and ResNet-50 stay fast on a CPU."""
import importlib.util

import numpy as np
import paddle
import pytest
from ppdet.core.workspace import create

from helpers import CONFIGS, REPO, normalize, real_photo
from ppdet_face.engine import load_config
from ppdet_face.engine.weights import WeightsError, load_pretrain_weights
from ppdet_face.export import export_model, init_random_weights
from ppdet_face.modeling.vision_backbones import PRETRAINED_URLS

SSH_CONFIGS = sorted(p.name for p in (CONFIGS / "face_detection").glob("ssh_*_wider.yml"))
SIZE = 128


def _export_helpers():
    """tests/export/test_export.py's runtimes and comparison (tests/export is not a package)."""
    spec = importlib.util.spec_from_file_location("ssh_export_helpers", REPO / "tests" / "export" / "test_export.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=SSH_CONFIGS)
def built(request):
    cfg = load_config(str(CONFIGS / "face_detection" / request.param))
    paddle.seed(0)
    return cfg, create(cfg.architecture)


def test_every_backbone_has_a_config():
    assert SSH_CONFIGS == ["ssh_mobilenet_v1_wider.yml", "ssh_mobilenet_v2_wider.yml", "ssh_resnet50_wider.yml",
                           "ssh_vgg16_wider.yml"]


def test_config_uses_paddle_vision_imagenet_weights(built):
    cfg, model = built
    assert cfg.pretrain_weights == PRETRAINED_URLS[type(model.backbone).__name__]


def test_one_train_step_reaches_every_trainable_parameter(built):
    _, model = built
    model.train()
    # a face for each module on 128 px images: 41 px (M1's 32 px anchors), 70 px (M2's 64) and one larger
    # than the image (M3's 256), whose box leaves the image as a cropped face's would before clipping.
    gt = paddle.to_tensor([[[0.1, 0.1, 0.42, 0.42], [-0.6, -0.6, 1.35, 1.35]],
                           [[0.2, 0.2, 0.75, 0.75], [0, 0, 0, 0]]], "float32")
    batch = {"image": paddle.randn([2, 3, SIZE, SIZE]), "gt_bbox": gt, "gt_class": paddle.zeros([2, 2, 1], "int32")}
    out = model(batch)
    assert np.isfinite(float(out["loss"])) and float(out["num_pos"]) > 0
    model.clear_gradients()
    out["loss"].backward()
    trainable = [(n, p) for n, p in model.named_parameters() if not p.stop_gradient]
    missing = [n for n, p in trainable if p.grad is None]
    zero = [n for n, p in trainable if p.grad is not None and float(p.grad.abs().sum()) == 0.0]
    assert not missing and not zero, (missing[:5], zero[:5])
    model.clear_gradients()
    model.eval()


def test_imagenet_weights_load_into_the_backbone_through_the_key_mapping(built, tmp_path):
    _, model = built
    body = model.backbone.body
    # paddle.vision's own naming, plus its ImageNet classifier (dropped by the mapping)
    state = {k: v.numpy() + 1.0 for k, v in body.state_dict().items()}
    state.update({f"{p}weight": np.zeros([4, 3], np.float32) for p in model.backbone.CLASSIFIER})
    path = str(tmp_path / "imagenet.pdparams")
    paddle.save(state, path)
    neck_before = {k: v.numpy().copy() for k, v in model.neck.state_dict().items()}
    load_pretrain_weights(model, path)
    loaded = body.state_dict()
    assert set(loaded) == {k for k in state if not k.startswith(model.backbone.CLASSIFIER)}
    for name, value in loaded.items():
        np.testing.assert_array_equal(value.numpy(), state[name], err_msg=name)
    assert all(np.array_equal(v.numpy(), neck_before[k]) for k, v in model.neck.state_dict().items())
    # a tensor short: the strict loader names it
    del state[next(iter(loaded))]
    paddle.save(state, path)
    with pytest.raises(WeightsError, match="missing"):
        load_pretrain_weights(model, path)


def test_export_paddle_and_onnx_equal_dygraph_detect(built, tmp_path):
    """The exported Paddle program (Paddle Inference, oneDNN off) equals the dygraph ``detect`` on a real photo
    (matplotlib's portrait) and a synthetic image: scores and coordinates within 1e-4 (coordinates relative to
    the image size). Paddle Inference + oneDNN and ONNX
    Runtime sum convolutions in another order; with SSH's unit variances and 512 px anchors a 4e-5 delta
    difference moves a corner by 0.02 px, so their coordinates are compared within 1e-4 of the largest
    anchor (scores still within 1e-4)."""
    cfg, model = built
    helpers = _export_helpers()
    images = [normalize(real_photo(SIZE))] + [normalize(im) for im in helpers.synthetic_images(seed=2,
                                                                                                sizes=((96, 136),))]
    calib = np.stack([images[0], images[0][:, ::-1, ::-1]]).astype(np.float32)
    init_random_weights(model, seed=0, face_logit_bias=-6.0, images=calib)
    runtimes = helpers.Runtimes(export_model(model, cfg, str(tmp_path), fmt="onnx"))
    largest_anchor = max(max(sizes) for sizes in model.head.anchor_generator.min_sizes)
    total = 0
    for i, chw in enumerate(images):
        ref, ref_num = helpers.dygraph(model, chw)
        feed = {"image": chw[None], "im_shape": np.array([chw.shape[1:]], np.float32),
                "scale_factor": np.ones((1, 2), np.float32)}
        for runtime, (bbox, num) in runtimes.run_all(feed).items():
            size = chw.shape[1:] if runtime == "paddle" else (largest_anchor,)
            helpers.assert_same_detections(ref[:int(ref_num[0])], bbox[:int(num[0])], size, what=f"{runtime} on {i}")
        total += int(ref_num[0])
    assert total > 5
