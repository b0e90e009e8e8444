"""A contact sheet of generated images with their GT boxes, coloured by difficulty."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from eval_tools.wider_format import read_gt_txt

from .dataset import DIFFICULTY_MIN_SIZE, EVENTS

__all__ = ["save_preview"]


def save_preview(root: str | os.PathLike, out_png: str | os.PathLike, n: int = 8,
                 split: str = "val", tile: int = 400, cols: int = 4,
                 names: Iterable[str] | None = None) -> str:
    """Draw GT boxes on ``n`` images of a split into one contact-sheet PNG.

    Box colour encodes difficulty (green easy, yellow medium, red hard only).

    Args:
        root: dataset root (the WIDER layout written by ``generate_wider_dataset``).
        out_png: the PNG to write (its folder is created).
        n: number of images when ``names`` is None. Default: 8.
        split: "train" or "val". Default: "val".
        tile: side of each image's tile (px). Default: 400.
        cols: tiles per row. Default: 4.
        names: the images (``<event>/<name>.jpg``) to show; None picks a crowd image, an empty
            image and a portrait if present, then spreads the rest over the split. Default: None.

    Returns:
        str: the PNG path.

    Raises:
        FileNotFoundError: none of the chosen images could be read.
    """
    root = Path(root)
    recs = read_gt_txt(root / "wider_face_split" / f"wider_face_{split}_bbx_gt.txt")
    by_name = {r.name: r.rows for r in recs}
    chosen = _choose(recs, n) if names is None else list(names)
    tiles = []
    for name in chosen:
        img = cv2.imread(str(root / f"WIDER_{split}" / "images" / name))
        if img is not None:
            tiles.append(_tile(img, by_name.get(name, np.zeros((0, 10), np.int64)), name, tile))
    if not tiles:
        raise FileNotFoundError(f"no images found for split {split!r} under {root}")
    cols = max(1, min(cols, len(tiles)))
    while len(tiles) % cols:
        tiles.append(np.full_like(tiles[0], 40))
    rows_img = [np.concatenate(tiles[i:i + cols], 1) for i in range(0, len(tiles), cols)]
    sheet = np.concatenate(rows_img, 0)
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out_png), sheet)
    return str(out_png)


def _choose(recs, n: int) -> list[str]:
    """A crowd image, an empty image and a portrait if present, then the rest spread evenly."""
    chosen: list[str] = []
    crowd = [r.name for r in recs if r.name.startswith(EVENTS["crowd"])]
    empty = [r.name for r in recs if len(r.rows) == 0]
    portrait = [r.name for r in recs if r.name.startswith(EVENTS["portrait"])]
    for group in (crowd, empty, portrait):
        if group and len(chosen) < n:
            chosen.append(group[0])
    rest = [r.name for r in recs if r.name not in chosen]
    if rest and len(chosen) < n:
        step = max(1, len(rest) // (n - len(chosen)))
        chosen += rest[::step][: n - len(chosen)]
    return chosen


def _tile(img: np.ndarray, rows: np.ndarray, name: str, tile: int) -> np.ndarray:
    """The image scaled into a ``tile`` x ``tile`` cell with its boxes and a caption above."""
    h, w = img.shape[:2]
    s = min(tile / w, tile / h)
    # faces are small: upscale tiles only for the grid, draw boxes afterwards
    im = cv2.resize(img, (max(1, int(w * s)), max(1, int(h * s))),
                    interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    for r in rows:
        m = min(r[2], r[3])
        col = (0, 255, 0) if m >= DIFFICULTY_MIN_SIZE["easy"] else \
            ((0, 255, 255) if m >= DIFFICULTY_MIN_SIZE["medium"] else (0, 0, 255))
        p1 = (int(round(r[0] * s)), int(round(r[1] * s)))
        p2 = (int(round((r[0] + r[2]) * s)), int(round((r[1] + r[3]) * s)))
        cv2.rectangle(im, p1, p2, col, 1)
    canvas = np.full((tile + 22, tile, 3), 40, np.uint8)
    canvas[22:22 + im.shape[0], :im.shape[1]] = im
    cv2.putText(canvas, f"{name.split('/')[-1]}  {w}x{h}  faces={len(rows)}", (3, 15),
                cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return canvas
