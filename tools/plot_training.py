"""Plot training curves: python tools/plot_training.py --log <training log> [--out docs/wider_real_training.png]

Reads PaddleDetection's training lines (``Epoch: [E] [I/N] ... loss: X loss_loc: ... loss_conf: ...``)
and our evaluation lines (``WIDER AP  easy A  medium B  hard C``, each belonging to the last training
epoch before it) and draws, in one PNG, the loss fields averaged per epoch (top) and the WIDER AP
easy / medium / hard of each evaluation (bottom) against the epoch. Format details:
ppdet_face/utils/training_log.py. A log without training lines is an error (exit status 1).
"""
import argparse
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--log", required=True, help="training log (tools/train.py output)")
    parser.add_argument("--out", default="output/training_curves.png", help="output PNG (default: %(default)s)")
    parser.add_argument("--title", default=None, help="figure title (default: the log's file name)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from ppdet_face.utils.training_log import TrainingLogError, plot_training_curves, read_training_log, summary

    try:
        log = read_training_log(args.log)
    except TrainingLogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summary(log))
    print(f"wrote {plot_training_curves(log, args.out, title=args.title or args.log)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
