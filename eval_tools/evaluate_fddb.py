#!/usr/bin/env python
"""FDDB discrete and continuous ROC with the official protocol (no C++ program, no OpenCV 2).

Usage::

    python eval_tools/evaluate_fddb.py -a <FDDB-folds> -d <detections.txt> [-d <more.txt> ...] \\
        -r <output prefix> [--folds 1-10] [--format rect|ellipse] [--image_dir <originalPics>] \\
        [--plot roc.png] [--json out.json]

``-a`` is the ``FDDB-folds`` folder (``FDDB-fold-NN-ellipseList.txt``). A detection file lists per
image its name, the detection count, then ``x y w h score`` (``--format rect``) or
``major_radius minor_radius angle center_x center_y score`` (``--format ellipse``) lines; images
without an entry count as images without detections. With one ``-d`` the tool writes
``<prefix>DiscROC.txt`` (``tpr fp threshold``) and ``<prefix>ContROC.txt`` (``tpr fp``) like the
official program; with several, ``<prefix><detection file stem>{Disc,Cont}ROC.txt``.

Clipping: the official program draws faces and detections on masks of the image's size, so regions
are clipped to the image. With ``--image_dir`` (the folder holding ``<name>.jpg``, e.g.
``originalPics``) the image sizes are read from the files and regions are clipped the same way;
without it nothing is clipped (faces at the image border then have a larger area than officially).
The logic lives in :mod:`eval_tools.fddb`.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

from eval_tools import plot_fddb_roc  # lazy: imports matplotlib only when called
from eval_tools.cli_output import write_outputs
from eval_tools.fddb import (
    DET_FORMATS,
    FDDBFormatError,
    evaluate_fddb,
    format_fddb_table,
    load_annotations,
    read_image_sizes,
)


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    p = argparse.ArgumentParser(
        prog="evaluate_fddb.py",
        description="FDDB discrete and continuous ROC with the official protocol.",
        epilog="Without --image_dir regions are NOT clipped to the image (the official program clips "
               "them): pass the FDDB image folder for the official numbers.")
    p.add_argument("-a", "--annotations", required=True,
                   help="FDDB-folds folder (FDDB-fold-NN-ellipseList.txt)")
    p.add_argument("-d", "--detections", required=True, action="append",
                   help="detection file (repeat for several detectors)")
    p.add_argument("-r", "--roc_prefix", required=True,
                   help="output prefix: <prefix>DiscROC.txt and <prefix>ContROC.txt "
                        "(several -d: <prefix><file stem>DiscROC.txt ...)")
    p.add_argument("--folds", default="1-10", help="folds to evaluate, e.g. 1-10, 3 or 1,4-6 (default: 1-10)")
    p.add_argument("--format", default="rect", choices=DET_FORMATS,
                   help="detection regions: rect (x y w h score) or ellipse (default: rect)")
    p.add_argument("--image_dir", default=None,
                   help="folder of the FDDB images (<name>.jpg): read their sizes and clip regions to the "
                        "image as the official program does (default: no clipping)")
    p.add_argument("--plot", default=None, help="write every detector's discrete and continuous ROC as a PNG")
    p.add_argument("--json", default=None, help="write the results (TPR at 1000/2000 FP, ROC rows) as JSON")
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Print warnings as one ``warning: ...`` line on stderr."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _prefixes(args) -> list[str]:
    """One output prefix per detection file (file stems must then be distinct)."""
    if len(args.detections) == 1:
        return [args.roc_prefix]
    stems = [Path(d).stem for d in args.detections]
    if len(set(stems)) != len(stems):
        raise FDDBFormatError(f"detection files need distinct names to get distinct ROC files, got {stems}")
    return [f"{args.roc_prefix}{stem}" for stem in stems]


def _evaluate_all(args) -> list:
    """Load the folds (and image sizes), score every detection file, write its ROC files."""
    annotations = load_annotations(args.annotations, args.folds)
    sizes = None
    if args.image_dir:
        t0 = time.perf_counter()
        sizes = read_image_sizes(args.image_dir, annotations.names)
        print(f"image sizes of {len(sizes)} images read in {time.perf_counter() - t0:.2f} s")
    clip = "regions clipped to the image" if sizes else "regions NOT clipped (no --image_dir)"
    print(f"FDDB folds {args.folds}: {len(annotations.names)} images, {annotations.num_faces} faces; {clip}")
    results = []
    for det_file, prefix in zip(args.detections, _prefixes(args)):
        result = evaluate_fddb(annotations, det_file, fmt=args.format, image_sizes=sizes)
        disc, cont = result.write_roc(prefix)
        print(f"{result.name}: {result.num_detections} detections, {len(result.thresholds)} thresholds, "
              f"{result.timing['total']:.2f} s -> {disc}, {cont}")
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the CLI.

    Args:
        argv: arguments. Default: ``sys.argv[1:]``.

    Returns:
        Exit status 0; bad input exits through ``SystemExit`` with one ``error:`` line.
    """
    args = build_parser().parse_args(argv)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _show_warning
        try:
            results = _evaluate_all(args)
        except FDDBFormatError as exc:
            raise SystemExit(f"error: {exc}") from None
        except OSError as exc:
            raise SystemExit(f"error: cannot write the ROC files: {exc}") from None
    print(format_fddb_table(results))
    print(f"total {time.perf_counter() - t0:.2f} s")
    payload = None
    if args.json:
        payload = {"annotations": str(args.annotations), "folds": args.folds,
                   "clipped": bool(args.image_dir), "detectors": [r.to_dict() for r in results]}
    write_outputs(args.json, payload, args.plot, lambda path: plot_fddb_roc(results, path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
