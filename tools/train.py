"""Train a face detector: python tools/train.py -c <yml> [-o k=v ...] [-r ckpt] [--eval] [--use_vdl]

Multi-process / multi-GPU / multi-node: python -m paddle.distributed.launch [--nproc_per_node N | --gpus 0,1]
tools/train.py -c <yml> (CPU processes talk over gloo).

Weights: ``-r <save_dir>/<config>/<epoch>`` resumes (weights, optimizer, LR, epoch); both ``.pdparams``
and ``.pdopt`` must exist and fit the model. ``-o pretrain_weights=<file or .pdparams URL>`` starts a
new training from weights (``.pdparams`` or ``.safetensors``); every tensor must match the model by
name and shape, unless ``--allow_partial_weights`` (fine-tuning with another head): then the matching
tensors are loaded, the rest keep their initialisation and are listed in a warning.
"""
import argparse
import sys

from ppdet_face.data import AnnotationError
from ppdet_face.engine import ConfigError, FaceTrainer, NonFiniteLossError, load_config, setup_device
from ppdet_face.engine.trainer import DataReaderError
from ppdet_face.engine.weights import (
    WeightsError,
    check_resume_checkpoint,
    load_pretrain_weights,
    resolve_weights,
    resume_checkpoint_base,
)
from ppdet_face.utils.logging import get_logger

logger = get_logger("train")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-c", "--config", required=True, help="config YAML")
    parser.add_argument("-o", "--opt", nargs="*", default=[], help="overrides, key=value (dots for nesting)")
    parser.add_argument("-r", "--resume", default=None, help="checkpoint to resume from (path without .pdparams)")
    parser.add_argument("--allow_partial_weights", action="store_true",
                        help="pretrain_weights only: load the tensors whose name and shape match, keep the others "
                             "initialised (default: any mismatch is an error)")
    parser.add_argument("--eval", action="store_true", help="evaluate every snapshot_epoch and keep best_model")
    parser.add_argument("--use_vdl", action="store_true", help="log to VisualDL (needs `pip install visualdl`)")
    parser.add_argument("--vdl_log_dir", default="vdl_log_dir/scalar", help="VisualDL log dir")
    parser.add_argument("--seed", type=int, default=None, help="random seed for paddle, numpy and random")
    parser.add_argument("--save_rank_weights", default=None, metavar="DIR",
                        help="after training, every rank saves its weights to DIR/rank<N>.pdparams "
                             "(to check that data-parallel ranks stay identical)")
    args = parser.parse_args(argv)
    if args.allow_partial_weights and args.resume:
        parser.error("--allow_partial_weights applies to pretrain_weights, not to -r (a resumed checkpoint must fit)")
    return args


def load_start_weights(trainer, args, pretrain):
    """The resumed checkpoint, or the pretrain weights; warns when a frozen BatchNorm gets neither."""
    if args.resume:
        trainer.resume_weights(check_resume_checkpoint(trainer.model, args.resume))
    elif pretrain:
        load_pretrain_weights(trainer.model, pretrain, allow_partial=args.allow_partial_weights,
                              hint="(to fine-tune from weights of another head, pass --allow_partial_weights)")
        logger.info("loaded pretrain weights %s", pretrain)
    elif getattr(getattr(trainer.model, "backbone", None), "freeze_norm", False):
        name = type(trainer.model.backbone).__name__
        print(f"warning: {name}.freeze_norm is on but no pretrain_weights are loaded: BatchNorm will normalise with "
              f"its initial statistics (mean 0, variance 1), which lets deep networks diverge; pass "
              f"-o {name}.freeze_norm=false to train from scratch", file=sys.stderr, flush=True)


def main(argv=None):
    args = parse_args(argv)
    try:
        cfg = load_config(args.config, args.opt)
        cfg["use_vdl"] = args.use_vdl
        if args.use_vdl:
            import importlib.util

            if importlib.util.find_spec("visualdl") is None:
                raise ConfigError("--use_vdl needs VisualDL: pip install visualdl")
        cfg["vdl_log_dir"] = args.vdl_log_dir
        setup_device(cfg)
    except ConfigError as exc:
        sys.exit(f"error: {exc}")
    import paddle.distributed as dist

    if dist.get_world_size() > 1:
        dist.init_parallel_env()
    if args.seed is not None:
        from ppdet_face.utils.seed import set_seed
        set_seed(args.seed + dist.get_rank())
    from ppdet_face.utils.memory import keep_freed_memory

    keep_freed_memory()  # reuse freed activations instead of page-faulting them again (ops/allocator.py)
    pretrain = None
    try:
        if args.resume:  # fail fast, before the data and the model are built
            resume_checkpoint_base(args.resume)
        elif cfg.get("pretrain_weights"):
            pretrain = resolve_weights(cfg.pretrain_weights)  # downloads a URL into ppdet's cache
    except WeightsError as exc:
        sys.exit(f"error: {exc}")
    try:
        trainer = FaceTrainer(cfg, mode="train")
        if hasattr(trainer.dataset, "check_images_exist"):
            trainer.dataset.check_images_exist()  # a wrong image_dir would otherwise fail inside the DataLoader
    except (ValueError, FileNotFoundError) as exc:  # AnnotationError, a missing annotation file or dataset_dir
        sys.exit(f"error: {exc}")
    try:
        load_start_weights(trainer, args, pretrain)
    except WeightsError as exc:
        sys.exit(f"error: {exc}")
    try:
        trainer.train(validate=args.eval)
    except (NonFiniteLossError, DataReaderError, AnnotationError) as exc:  # AnnotationError: --eval's EvalDataset
        sys.exit(f"error: {exc}")
    if args.save_rank_weights:
        import os

        import paddle

        os.makedirs(args.save_rank_weights, exist_ok=True)
        model = getattr(trainer.model, "_layers", trainer.model)
        paddle.save(model.state_dict(), os.path.join(args.save_rank_weights, f"rank{dist.get_rank()}.pdparams"))


if __name__ == "__main__":
    main()
