"""Writing a synthetic dataset in the official WIDER FACE layout (images, annotations, difficulty)."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from eval_tools.retinaface_labels import LabelledImage, write_retinaface_labels
from eval_tools.wider_format import DEFAULT_DIFFICULTY_NAME, write_difficulty_file, write_gt_txt

from .scene import SPLIT_CODE, render_image

__all__ = ["DIFFICULTY_MIN_SIZE", "EVENTS", "MARKER", "generate_wider_dataset"]

#: Minimum ``min(w, h)`` of a GT box (pixels) for a face to count in each setting.
DIFFICULTY_MIN_SIZE = {"easy": 48, "medium": 24, "hard": 8}

#: Image kind -> WIDER event folder name.
EVENTS = {
    "scene": "0--Synthetic",
    "crowd": "1--Crowd",
    "portrait": "2--Portrait",
}

#: File that marks a folder as written by this generator (and records its parameters).
MARKER = "SYNTHETIC_WIDER.txt"


def generate_wider_dataset(root: str | os.PathLike, num_train: int = 300, num_val: int = 60,
                           seed: int = 0, image_size: Sequence[int] = (320, 640),
                           progress: bool = True, workers: int = 1,
                           overwrite: bool = False) -> dict:
    """Write a synthetic dataset in the official WIDER FACE layout under ``root``.

    Args:
        root: output directory (created if needed).  A directory that already holds a
            WIDER layout not written by this generator is refused unless ``overwrite``.
            A previous synthetic dataset there is replaced.
        num_train: number of train images. Default: 300.
        num_val: number of val images. Default: 60.
        seed: master seed; the same seed gives identical annotation files. Default: 0.
        image_size: ``(min_side, max_side)``; width and height are drawn independently
            from this range (crowd images use the upper quarter). Default: (320, 640).
        progress: show a tqdm progress bar. Default: True.
        workers: worker processes (results do not depend on it). Default: 1.
        overwrite: allow writing into a directory that holds a non-synthetic layout. Default: False.

    Returns:
        dict: a summary (paths, per-split image/face counts, difficulty counts, seconds taken).

    Raises:
        ValueError: ``image_size`` is not ``(min_side, max_side)`` with 16 <= min_side <= max_side.
        FileExistsError: ``root`` holds a WIDER layout not written by this generator.
    """
    t0 = time.perf_counter()
    root = Path(root)
    if len(image_size) != 2 or not (16 <= int(image_size[0]) <= int(image_size[1])):
        raise ValueError(f"image_size must be (min_side, max_side), got {image_size!r}")
    root.mkdir(parents=True, exist_ok=True)
    _prepare_root(root, overwrite)
    split_dir = root / "wider_face_split"
    split_dir.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text(
        "Synthetic WIDER FACE layout written by ppdet_face.data.synthetic.generate_wider_dataset\n"
        f"num_train={num_train} num_val={num_val} seed={seed} "
        f"image_size={int(image_size[0])},{int(image_size[1])}\n"
        "difficulty by min(w, h) of the box: "
        + ", ".join(f"{k} >= {v}px" for k, v in DIFFICULTY_MIN_SIZE.items()) + "\n")
    jobs = _jobs(root, {"train": int(num_train), "val": int(num_val)}, int(seed),
                 (int(image_size[0]), int(image_size[1])))
    results = _run(jobs, progress, workers)
    summary: dict = {"root": str(root), "seed": int(seed), "image_size": tuple(image_size)}
    for split in ("train", "val"):
        summary[split] = _write_split(root, split, results)
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    return summary


def _prepare_root(root: Path, overwrite: bool) -> None:
    """Refuse a foreign WIDER layout (unless ``overwrite``); clear a previous synthetic one."""
    split_dir = root / "wider_face_split"
    marker = root / MARKER
    has_layout = any((root / p).exists() for p in ("WIDER_train", "WIDER_val", "wider_face_split"))
    if has_layout and not marker.exists() and not overwrite:
        raise FileExistsError(
            f"{root} already holds a WIDER-style layout that was not written by this generator "
            f"(no {MARKER}); refusing to overwrite it. Choose another directory or pass "
            f"overwrite=True.")
    if marker.exists() or overwrite:
        for sub in ("WIDER_train/images", "WIDER_val/images", "retinaface"):
            p = root / sub
            if p.exists():
                shutil.rmtree(p)
        for f in ("wider_face_train_bbx_gt.txt", "wider_face_val_bbx_gt.txt", DEFAULT_DIFFICULTY_NAME):
            if (split_dir / f).exists():
                (split_dir / f).unlink()


def _kinds(rng: np.random.Generator, n: int) -> list[str]:
    """Image kinds for a split; every split with n >= 4 has each kind at least once."""
    if n <= 0:
        return []
    quota = [("empty", 0.06), ("crowd", 0.08), ("portrait", 0.12)]
    kinds: list[str] = []
    for name, frac in quota:
        if len(kinds) < n - 1 or n >= 4:
            c = max(1, int(round(frac * n)))
            kinds += [name] * min(c, max(0, n - len(kinds) - 1))
    kinds += ["scene"] * (n - len(kinds))
    perm = rng.permutation(n)
    return [kinds[i] for i in perm]


def _name(kind: str, split: str, index: int) -> str:
    ev = EVENTS["scene" if kind == "empty" else kind]
    num, title = ev.split("--")
    return f"{ev}/{num}_{title}_{split}_{index:05d}.jpg"


def _jobs(root: Path, counts: dict[str, int], seed: int, image_size: tuple[int, int]) -> list[tuple]:
    """One job tuple per image of each split (and the split's image folder created)."""
    jobs = []
    for split, n in counts.items():
        (root / f"WIDER_{split}" / "images").mkdir(parents=True, exist_ok=True)
        krng = np.random.default_rng([seed, SPLIT_CODE[split], 0, 0])
        for i, kind in enumerate(_kinds(krng, n)):
            jobs.append((str(root), split, i, kind, seed, image_size, _name(kind, split, i)))
    return jobs


def _work(job):
    """Render and write one image; returns (split, name, kind, (W, H), rows, points)."""
    root, split, index, kind, seed, image_size, name = job
    img, rows, points = render_image(seed, split, index, kind, image_size)
    rng = np.random.default_rng([int(seed), SPLIT_CODE[split], int(index), 2])
    quality = int(rng.integers(82, 96))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"JPEG encoding failed for {name}")
    path = Path(root) / f"WIDER_{split}" / "images" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.tobytes())
    return split, name, kind, (img.shape[1], img.shape[0]), rows, points


def _run(jobs: list[tuple], progress: bool, workers: int) -> list[tuple]:
    """Run the jobs in order, in ``workers`` processes when more than one."""
    from tqdm import tqdm
    bar = tqdm(total=len(jobs), desc="synthetic WIDER", unit="img", disable=not progress)
    results = []
    try:
        if workers and workers > 1 and len(jobs) > 1:
            import multiprocessing as mp
            ctx = mp.get_context("fork" if hasattr(os, "fork") else "spawn")
            pool = ctx.Pool(int(workers))
            try:
                for r in pool.imap(_work, jobs, chunksize=4):
                    results.append(r)
                    bar.update(1)
                pool.close()      # let workers exit normally (no SIGTERM: paddle, if
            except BaseException:  # imported by the parent, prints a fatal-signal banner)
                pool.terminate()
                raise
            finally:
                pool.join()
        else:
            for job in jobs:
                results.append(_work(job))
                bar.update(1)
    finally:
        bar.close()
    return results


def _difficulty_indices(rows: np.ndarray) -> dict[str, list[int]]:
    s = np.minimum(rows[:, 2], rows[:, 3]) if len(rows) else np.zeros(0)
    return {k: [int(i) + 1 for i in np.nonzero(s >= v)[0]] for k, v in DIFFICULTY_MIN_SIZE.items()}


def _write_split(root: Path, split: str, results: list[tuple]) -> dict:
    """Write a split's annotation file (and for val the difficulty file); returns its summary."""
    split_dir = root / "wider_face_split"
    recs = [(name, rows, points) for (sp, name, kind, _, rows, points) in results if sp == split]
    recs.sort(key=lambda r: (int(r[0].split("--")[0]), r[0]))
    ann = split_dir / f"wider_face_{split}_bbx_gt.txt"
    write_gt_txt(ann, [(name, rows) for name, rows, _ in recs])
    labels = root / "retinaface" / split / "label.txt"  # exact landmarks, in RetinaFace's layout
    labels.parent.mkdir(parents=True, exist_ok=True)
    write_retinaface_labels(labels, [LabelledImage(name, rows[:, :4].astype(np.float64), points,
                                                   np.ones(len(rows))) for name, rows, points in recs])
    recs = [(name, rows) for name, rows, _ in recs]
    kinds = [kind for (sp, _, kind, _, _, _) in results if sp == split]
    info = {
        "images": len(recs),
        "faces": int(sum(len(r) for _, r in recs)),
        "zero_face_images": int(sum(1 for _, r in recs if len(r) == 0)),
        "crowd_images": kinds.count("crowd"),
        "max_faces_per_image": int(max((len(r) for _, r in recs), default=0)),
        "image_dir": str(root / f"WIDER_{split}" / "images"),
        "annotation": str(ann),
        "landmarks": str(labels),
    }
    if len(recs):
        allrows = np.concatenate([r for _, r in recs if len(r)] or [np.zeros((0, 10))])
        if len(allrows):
            s = np.minimum(allrows[:, 2], allrows[:, 3])
            info["face_min_side_px"] = {"min": int(s.min()), "median": float(np.median(s)),
                                        "max": int(s.max())}
    if split == "val":
        diff = split_dir / DEFAULT_DIFFICULTY_NAME
        write_difficulty_file(diff, [(name, _difficulty_indices(rows)) for name, rows in recs])
        counts = {k: 0 for k in DIFFICULTY_MIN_SIZE}
        for _, r in recs:
            for k, v in _difficulty_indices(r).items():
                counts[k] += len(v)
        info["difficulty"] = counts
        info["difficulty_file"] = str(diff)
    return info
