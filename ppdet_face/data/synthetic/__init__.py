"""Synthetic face-detection data in the exact official WIDER FACE layout.

The generator draws cluttered scenes with cartoon-like but clearly face-structured
"faces" (skin-toned ellipse, eyes, eyebrows, nose, mouth, hair, ears, neck and
shoulders, random rotation, lighting and blur) plus non-face distractors that share
the faces' colours (feature-less skin blobs, hands, arms, backs of heads), so a
detector has to learn face *structure* rather than skin colour.  It is meant for
smoke tests, CI and quick training runs without the real (1.9 GB) WIDER FACE.

Layout written under ``root`` (identical to the official one, so a
``WIDERFaceDataSet`` with ``dataset_dir=root`` reads it as is)::

    WIDER_train/images/<event>/<name>.jpg
    WIDER_val/images/<event>/<name>.jpg
    wider_face_split/wider_face_train_bbx_gt.txt
    wider_face_split/wider_face_val_bbx_gt.txt
    wider_face_split/difficulty_easy_medium_hard.txt   (val only)
    retinaface/{train,val}/label.txt                    (the exact five landmarks of every face, RetinaFace's
                                                         layout: eval_tools/retinaface_labels.py)
    SYNTHETIC_WIDER.txt                                 (marker: generator + parameters)

Annotation format (official): per image a line ``<event>/<name>.jpg``, a line with
the face count, then one line per face ``x1 y1 w h blur expression illumination
invalid occlusion pose`` (integers).  Like the official files, an image without faces
has count ``0`` followed by one line ``0 0 0 0 0 0 0 0 0 0``.

The box is the tight integer box (``x1, y1`` inclusive, ``w, h`` in pixels) around the
rendered face ellipse (forehead to chin, cheek to cheek; hair, ears and neck are
outside), like a WIDER box.  Attribute columns are filled sensibly: blur 0/1/2
(clear / normal / heavy), expression 1 for an open mouth, illumination 1 for extreme
lighting, invalid always 0, occlusion 0/1/2 from the visible fraction of the face
(>= 0.9 / >= 0.6 / less), pose 1 for an in-plane rotation above 20 degrees.

Difficulty (``difficulty_easy_medium_hard.txt``, same format as the official subset in
``shared/data/wider_face_val_subset``: per image three lines ``<event>/<name>.jpg
easy: i j ...`` with the 1-based indices of the faces a setting keeps).  Here the
settings are defined purely by face size, ``s = min(w, h)`` of the GT box:

    easy   : s >= 48 px
    medium : s >= 24 px
    hard   : s >=  8 px   (all faces the generator draws; the smallest is 10 px wide)

so easy is a subset of medium, which is a subset of hard.

Everything is deterministic: each image uses its own RNG seeded by
``(seed, split, index)``, so the same seed gives byte-identical annotation files (and,
with the same OpenCV build, byte-identical JPEGs), independent of ``workers``.

The annotation and difficulty files are written (and read back) by :mod:`eval_tools.wider_format`,
the one implementation of the WIDER formats.

Only numpy, OpenCV, tqdm, ``eval_tools`` and the standard library are used (no paddle / ppdet).

Modules, one job each: :mod:`.palette` (colours), :mod:`.canvas` (template canvas, lighting,
pasting), :mod:`.faces` (faces and distractors), :mod:`.background` (backgrounds, clutter),
:mod:`.layout` (where faces and distractors go), :mod:`.scene` (one image: :func:`render_image`),
:mod:`.dataset` (the WIDER layout on disk: :func:`generate_wider_dataset`) and :mod:`.preview`
(contact sheet: :func:`save_preview`).
"""

from .dataset import DIFFICULTY_MIN_SIZE, EVENTS, MARKER, generate_wider_dataset
from .preview import save_preview
from .scene import render_image

__all__ = [
    "DIFFICULTY_MIN_SIZE",
    "EVENTS",
    "MARKER",
    "generate_wider_dataset",
    "render_image",
    "save_preview",
]
