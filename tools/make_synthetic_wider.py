#!/usr/bin/env python
"""Write a synthetic face dataset in the official WIDER FACE layout.

    python tools/make_synthetic_wider.py --out dataset/synthetic --num_train 300 --num_val 60 --seed 0

The result can be used wherever WIDER FACE is expected (``dataset_dir: dataset/synthetic``).
See ``ppdet_face/data/synthetic/`` for what is drawn and how difficulty is defined.
"""
from __future__ import annotations

import os
import sys

from eval_tools.cli_flags import FlagParser


def main(argv=None) -> int:
    p = FlagParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="dataset/synthetic", help="output root (default: %(default)s)")
    p.add_argument("--num_train", type=int, default=300, help="train images (default: %(default)s)")
    p.add_argument("--num_val", type=int, default=60, help="val images (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="master seed (default: %(default)s)")
    p.add_argument("--min_size", type=int, default=320, help="min image side px (default: %(default)s)")
    p.add_argument("--max_size", type=int, default=640, help="max image side px (default: %(default)s)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default: %(default)s)")
    p.add_argument("--preview", default=None, metavar="PNG",
                   help="also write a contact sheet of val images with GT boxes to this PNG")
    p.add_argument("--overwrite", action="store_true",
                   help="allow writing into a directory holding a non-synthetic WIDER layout")
    p.add_argument("--no_progress", action="store_true", help="hide the progress bar")
    args = p.parse_args(argv)

    from ppdet_face.data import synthetic as syn  # numpy + OpenCV only (no paddle, no ppdet)
    try:
        s = syn.generate_wider_dataset(args.out, num_train=args.num_train, num_val=args.num_val,
                                       seed=args.seed, image_size=(args.min_size, args.max_size),
                                       progress=not args.no_progress, workers=args.workers,
                                       overwrite=args.overwrite)
    except (FileExistsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"synthetic WIDER FACE written to {os.path.abspath(s['root'])}  "
          f"(seed {s['seed']}, {s['seconds']} s)")
    for split in ("train", "val"):
        i = s[split]
        print(f"  {split:5s}: {i['images']:5d} images, {i['faces']:6d} faces "
              f"({i['zero_face_images']} without faces, {i['crowd_images']} crowd, "
              f"max {i['max_faces_per_image']} per image)")
        print(f"         images      {i['image_dir']}")
        print(f"         annotations {i['annotation']}")
    if "difficulty" in s["val"]:
        d = s["val"]["difficulty"]
        print(f"  val difficulty (by box min side: easy>=48, medium>=24, hard>=8 px): "
              f"easy {d['easy']}, medium {d['medium']}, hard {d['hard']}")
        print(f"         {s['val']['difficulty_file']}")
    if args.preview:
        print(f"  preview: {syn.save_preview(args.out, args.preview)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
