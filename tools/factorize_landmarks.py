"""Factorise the landmark convs of a five-point model into a cheaper low-rank branch.

    python tools/factorize_landmarks.py in[.safetensors|.pdparams] out.safetensors [--rank 10]

Each level's full landmark conv (``FaceAnchorHead(landmark_rank=0)``) becomes its best rank-r approximation (truncated
SVD): a conv to r channels, then a 1x1 conv with the bias, the weights of the same model built with
``FaceAnchorHead.landmark_rank=r`` (``-o FaceAnchorHead.landmark_rank=10`` or a config that sets it). Every other tensor
is copied unchanged, so boxes and scores stay exactly as they were. The approximation moves the points a little: a
short landmark-only fine-tune (``configs/face_detection/blazeface_fpn_ssh_kps_wider_real.yml``'s stage 3) recovers it.
"""
import argparse
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n", 2)[2])
    parser.add_argument("src", help="weights with full landmark convs (.safetensors or .pdparams, suffix optional)")
    parser.add_argument("dst", help="output .safetensors")
    parser.add_argument("--rank", type=int, default=10, help="channels between the two convs (default: 10)")
    args = parser.parse_args(argv)
    if not args.dst.endswith(".safetensors"):
        parser.error(f"the output must end with .safetensors, got {args.dst}")
    if args.rank < 1:
        parser.error(f"--rank must be >= 1, got {args.rank}")
    return args


def main(argv=None):
    args = parse_args(argv)
    from ppdet_face.engine.weights import WeightsError, read_state_dict, resolve_weights, save_safetensors
    from ppdet_face.modeling.face_head import factorize_landmark_state

    try:
        src = resolve_weights(args.src)
        state = factorize_landmark_state(read_state_dict(src), args.rank)
    except (WeightsError, ValueError) as exc:
        sys.exit(f"error: {args.src}: {exc}")
    count = save_safetensors(state, args.dst, {"factorized_from": src, "landmark_rank": str(args.rank)})
    print(f"wrote {count} tensors to {args.dst} (landmark convs at rank {args.rank})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
