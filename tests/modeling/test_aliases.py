"""The old registered names of the renamed shared parts (BlazeFaceHead, BlazeFaceAnchors, BlazeFacePostProcess)
still configure and build the same model, with a FutureWarning naming the new name."""
import numpy as np
import paddle
import pytest
import yaml

from helpers import CONFIGS, normalize, real_photo
from ppdet_face.modeling.aliases import RENAMED

CONFIG = CONFIGS / "face_detection" / "blazeface_fpn_ssh_1000e.yml"


def _old_names_config(tmp_path):
    """The published FPN-SSH config with every renamed section and reference spelled the old way."""
    from ppdet_face.engine import load_config

    cfg = load_config(str(CONFIG))
    head, anchors, post = (dict(cfg[new]) for new in ("FaceAnchorHead", "FaceAnchors", "FacePostProcess"))
    head = {k: v for k, v in head.items() if k in ("kernel_size", "prior_box_var")}
    leaf = {"_BASE_": [str(CONFIG)],
            "BlazeFaceDetector": {"blaze_head": "BlazeFaceHead", "post_process": "BlazeFacePostProcess"},
            "BlazeFaceHead": dict(head, anchor_generator="BlazeFaceAnchors"),
            "BlazeFaceAnchors": {k: anchors[k] for k in ("steps", "min_sizes", "offset") if k in anchors},
            "BlazeFacePostProcess": {k: post[k] for k in ("score_threshold", "nms_threshold", "nms_top_k",
                                                           "keep_top_k")}}
    path = tmp_path / "old_names.yml"
    path.write_text(yaml.safe_dump(leaf, sort_keys=False))
    return path


def test_old_names_build_the_same_detector_and_warn(tmp_path):
    from ppdet_face.engine import load_config
    from ppdet_face.engine.weights import build_model
    from ppdet_face.pretrained import bundled_model

    weights = str(bundled_model("blazeface_fpn_ssh_1000e").weights)
    new, _ = build_model(load_config(str(CONFIG), {"weights": weights}))
    with pytest.warns(FutureWarning) as caught:
        old, _ = build_model(load_config(str(_old_names_config(tmp_path)), {"weights": weights}))
    assert {f"{o} was renamed {n}" for o, n in RENAMED.items()} <= {str(w.message).split(":")[0] for w in caught}
    assert type(old.blaze_head).__name__ == "BlazeFaceHead" and isinstance(old.blaze_head, type(new.blaze_head))
    x = normalize(real_photo())[None]
    inputs = (paddle.to_tensor(x), paddle.to_tensor([[600.0, 512.0]]), paddle.to_tensor([[1.0, 1.0]]))
    with paddle.no_grad():
        a, b = new.detect(*inputs)[0].numpy(), old.detect(*inputs)[0].numpy()
    assert len(a) > 0
    np.testing.assert_array_equal(a, b)
