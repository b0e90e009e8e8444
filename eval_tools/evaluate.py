#!/usr/bin/env python
"""WIDER FACE val AP with the official protocol (no MATLAB).

Usage::

    python eval_tools/evaluate.py -p <pred_dir> -g <gt> [--difficulty FILE] \\
        [--json out.json] [--plot pr.png] [--backend auto|cython|numpy]

``<pred_dir>`` holds ``<event>/<name>.txt`` prediction files (image name, box count, then
``left top width height score`` lines). ``<gt>`` is the folder of the official ``.mat`` files
(``wider_face_val.mat``, ``wider_{easy,medium,hard}_val.mat``) or a ``wider_face_val_bbx_gt.txt``
whose difficulty file (default ``difficulty_easy_medium_hard.txt`` beside it) lists per image the
1-based faces each setting keeps. The logic lives in :mod:`eval_tools.widerface`.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from eval_tools import plot_pr_curves  # lazy: imports matplotlib only when called
from eval_tools.box_overlaps import BACKENDS, get_backend
from eval_tools.cli_flags import FlagParser
from eval_tools.cli_output import write_outputs
from eval_tools.wider_format import WiderFormatError
from eval_tools.widerface import evaluate, load_ground_truth


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    p = FlagParser(
        prog="evaluate.py",
        description="WIDER FACE val AP (easy/medium/hard) with the official protocol.")
    p.add_argument("-p", "--pred", required=True, help="prediction folder (<event>/<name>.txt)")
    p.add_argument("-g", "--gt", required=True,
                   help="folder with the official .mat files, or a wider_face_val_bbx_gt.txt")
    p.add_argument("--difficulty", default=None,
                   help="difficulty file for a .txt ground truth "
                        "(default: difficulty_easy_medium_hard.txt beside it)")
    p.add_argument("--json", default=None, help="write results (AP, counts, PR curves) as JSON")
    p.add_argument("--plot", default=None, help="write the three PR curves as a PNG")
    p.add_argument("--backend", default="auto", choices=BACKENDS,
                   help="IoU kernel: auto (Cython when built), cython or numpy")
    p.add_argument("--iou_thresh", type=float, default=0.5, help="IoU for a match (official 0.5)")
    p.add_argument("--no_progress", action="store_true", help="hide the progress bars")
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Print warnings as one ``warning: ...`` line on stderr."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI.

    Args:
        argv: arguments (default ``sys.argv[1:]``).

    Returns:
        Exit status 0; user errors exit through ``SystemExit`` with a one-line message.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not Path(args.pred).is_dir():
        parser.error(f"prediction folder not found: {args.pred}")
    if not 0.0 < args.iou_thresh <= 1.0:
        parser.error(f"--iou_thresh must be in (0, 1], got {args.iou_thresh}")
    try:
        backend = get_backend(args.backend)
    except ImportError as exc:
        parser.error(str(exc))
    try:
        gt = load_ground_truth(args.gt, args.difficulty)
    except WiderFormatError as exc:
        parser.error(str(exc))

    print(f"IoU backend: {backend.describe()}")
    print(f"ground truth: {gt.source} ({len(gt)} images, {gt.count_faces()} faces)")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _show_warning
        try:
            result = evaluate(args.pred, gt, iou_thresh=args.iou_thresh, backend=backend,
                              progress=not args.no_progress)
        except WiderFormatError as exc:
            raise SystemExit(f"error: {exc}") from None

    print(result.format_table())
    print(f"{result.num_predictions} predictions on {result.num_images} images; "
          f"read {result.timing['read_predictions']:.2f} s, "
          f"evaluate {result.timing['evaluate']:.2f} s")
    payload = None
    if args.json:
        payload = result.to_dict()
        payload.update(pred_dir=str(args.pred), gt=str(args.gt))
    write_outputs(args.json, payload, args.plot, lambda path: plot_pr_curves(result, path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
