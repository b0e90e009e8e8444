"""--eval during training: the tools/eval.py prediction code + official AP, and best_model is kept."""
import os

import numpy as np
import paddle

from helpers import CONFIGS
from ppdet_face.engine import FaceTrainer, load_config
from ppdet_face.evaluation import WiderFaceAPMetric


def test_train_with_validation_keeps_best_model(tmp_path):
    from ppdet_face.data.synthetic import generate_wider_dataset

    data = tmp_path / "data"
    generate_wider_dataset(data, num_train=4, num_val=3, seed=5, image_size=(160, 200), progress=False)
    cfg = load_config(str(CONFIGS / "face_detection" / "blazeface_fpn_ssh_demo.yml"),
                      [f"TrainDataset.dataset_dir={data}", f"EvalDataset.dataset_dir={data}", "epoch=1",
                       "snapshot_epoch=1", "worker_num=0", "TrainReader.batch_size=2", f"save_dir={tmp_path / 'out'}"])
    paddle.seed(0)
    trainer = FaceTrainer(cfg, mode="train")
    seen = {}
    real_accumulate = WiderFaceAPMetric.accumulate

    def spy(metric):
        real_accumulate(metric)
        seen.update(metric.get_results(), n=len(metric.preds))

    WiderFaceAPMetric.accumulate = spy
    try:
        trainer.train(validate=True)
    finally:
        WiderFaceAPMetric.accumulate = real_accumulate
    assert seen["n"] == 3  # every val image predicted
    assert set(seen) >= {"easy", "medium", "hard", "bbox"}
    assert all(0.0 <= seen[k] <= 1.0 or np.isnan(seen[k]) for k in ("easy", "medium", "hard"))
    out = tmp_path / "out" / "blazeface_fpn_ssh_demo"
    assert (out / "best_model.pdparams").exists() and (out / "model_final.pdparams").exists()
    assert len(os.listdir(out / "eval_pred")) >= 1  # official-format prediction files
