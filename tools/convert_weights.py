"""Convert Paddle weights (.pdparams, a pickle) to .safetensors (no code can hide in it).

    python tools/convert_weights.py in.pdparams out.safetensors [--trust]

The input is read with ppdet_face's restricted unpickler, which rebuilds numpy arrays and plain
containers only and refuses any other Python object before it runs (so converting an untrusted
file is safe). A .pdparams file that needs other objects is refused with the object's name;
``--trust`` then reads it with ``paddle.load`` (which executes whatever the pickle asks for: only for
files you trust). The output loads everywhere weights are accepted: ``-o weights=out.safetensors``
(tools/eval.py, tools/export_model.py) and ``-o pretrain_weights=out.safetensors`` (tools/train.py).
"""
import argparse
import os
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n", 2)[2])
    parser.add_argument("src", help="input .pdparams (with or without the suffix)")
    parser.add_argument("dst", help="output .safetensors")
    parser.add_argument("--trust", action="store_true",
                        help="read the input with paddle.load (runs code from the pickle: trusted files only)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from ppdet_face.engine.weights import WeightsError, convert_to_safetensors

    src = args.src if args.src.endswith(".pdparams") or os.path.isfile(args.src) else args.src + ".pdparams"
    if not args.dst.endswith(".safetensors"):
        sys.exit(f"error: the output must end with .safetensors, got {args.dst}")
    try:
        count = convert_to_safetensors(src, args.dst, trust=args.trust)
    except WeightsError as exc:
        sys.exit(f"error: {exc}")
    print(f"wrote {count} tensors to {args.dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
