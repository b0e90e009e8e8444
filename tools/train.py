"""Train a face detector: python tools/train.py -c <yml> [-o k=v ...] [-r ckpt] [--eval] [--use_vdl]

Multi-process / multi-GPU / multi-node: python -m paddle.distributed.launch [--nproc_per_node N | --gpus 0,1]
tools/train.py -c <yml> (CPU processes talk over gloo).
"""
import argparse
import sys

from ppdet_face.engine import ConfigError, FaceTrainer, NonFiniteLossError, load_config, setup_device
from ppdet_face.utils.logging import get_logger

logger = get_logger("train")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-c", "--config", required=True, help="config YAML")
    parser.add_argument("-o", "--opt", nargs="*", default=[], help="overrides, key=value (dots for nesting)")
    parser.add_argument("-r", "--resume", default=None, help="checkpoint to resume from (path without .pdparams)")
    parser.add_argument("--eval", action="store_true", help="evaluate every snapshot_epoch and keep best_model")
    parser.add_argument("--use_vdl", action="store_true", help="log to VisualDL (needs `pip install visualdl`)")
    parser.add_argument("--vdl_log_dir", default="vdl_log_dir/scalar", help="VisualDL log dir")
    parser.add_argument("--seed", type=int, default=None, help="random seed for paddle, numpy and random")
    parser.add_argument("--save_rank_weights", default=None, metavar="DIR",
                        help="after training, every rank saves its weights to DIR/rank<N>.pdparams "
                             "(to check that data-parallel ranks stay identical)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        cfg = load_config(args.config, args.opt)
        cfg["use_vdl"] = args.use_vdl
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
    from ppdet_face.ops import keep_freed_memory

    keep_freed_memory()  # reuse freed activations instead of page-faulting them again (ops/allocator.py)
    trainer = FaceTrainer(cfg, mode="train")
    if args.resume:
        trainer.resume_weights(args.resume)
    elif cfg.get("pretrain_weights"):
        trainer.load_weights(cfg.pretrain_weights)
    try:
        trainer.train(validate=args.eval)
    except NonFiniteLossError as exc:
        sys.exit(f"error: {exc}")
    if args.save_rank_weights:
        import os

        import paddle

        os.makedirs(args.save_rank_weights, exist_ok=True)
        model = getattr(trainer.model, "_layers", trainer.model)
        paddle.save(model.state_dict(), os.path.join(args.save_rank_weights, f"rank{dist.get_rank()}.pdparams"))


if __name__ == "__main__":
    main()
