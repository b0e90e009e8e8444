"""FDDB evaluation (eval_tools.fddb): regions, matching, merging, file reading, and the shared data.

Hand-computed cases use tiny in-memory folds; the shared-data tests compare our ROC for
``detections/pyface.txt`` with the official program's output (``reference_roc/``).
"""
from __future__ import annotations

import time
import warnings

import cv2
import numpy as np
import pytest

from eval_tools.fddb import (
    DBL_MAX,
    FDDBAnnotations,
    FDDBFormatError,
    FDDBMissingImagesWarning,
    FDDBUnknownImagesWarning,
    ImagePoints,
    ellipse_draw_args,
    evaluate_fddb,
    image_roc_points,
    load_annotations,
    merge_image_points,
    overlap_matrix,
    parse_folds,
    rasterize_ellipse,
    read_detections,
    read_ellipse_list,
    read_fold_images,
    read_image_size,
    read_roc_file,
    rect_pixel_boxes,
    tpr_at_fp,
    write_fddb_detections,
)

# A vertical face: major radius 40 along y (FDDB angle pi/2), minor radius 30, centre (100, 100).
FACE = [40.0, 30.0, np.pi / 2, 100.0, 100.0]
GOOD = [70.0, 60.0, 60.0, 80.0]  # its bounding box: overlap about pi / 4
FAR = [300.0, 300.0, 40.0, 40.0]  # overlaps nothing


def _round32(v):
    return int(np.rint(np.float32(v)))


def _official_overlap(ellipse, rect, size):
    """The official computation on full-image masks: cv2 drawing as in EllipseR / RectangleR."""
    w, h = size
    a = np.zeros((h, w), np.uint8)
    d = np.zeros((h, w), np.uint8)
    ra, rb, t, cx, cy = ellipse
    cv2.ellipse(a, (_round32(cx), _round32(cy)), (int(ra), int(rb)), 180 - (np.pi - t) * 180 / np.pi, 0, 360,
                10, -1)
    x, y, bw, bh = rect
    cv2.rectangle(d, (_round32(x), _round32(y)), (_round32(x + bw), _round32(y + bh)), 10, -1)
    union = np.count_nonzero(a | d)
    return np.count_nonzero(a & d) / union if union else 0.0


def _annotations(faces: dict) -> FDDBAnnotations:
    return FDDBAnnotations(list(faces), {k: np.array(v, float).reshape(-1, 5) for k, v in faces.items()}, [1])


# ------------------------------------------------------------------------------------------------
# Regions and overlaps
# ------------------------------------------------------------------------------------------------
def test_draw_args_follow_the_official_conversions():
    centers, axes, angles = ellipse_draw_args([[40.9, 30.2, np.pi / 2, 100.5, 101.5]])
    assert centers.tolist() == [[100, 102]]  # cvRound: ties to even
    assert axes.tolist() == [[40, 30]]  # (int) truncation
    assert angles[0] == pytest.approx(90.0)
    # cvRound(x), cvRound(y); cvRound(x + w), cvRound(y + h); both corners inclusive
    assert rect_pixel_boxes([[10.4, 10.5, 5, 5]]).tolist() == [[10, 10, 15, 16]]
    assert rect_pixel_boxes([[-5, -5, 10, 10]], image_size=(4, 3)).tolist() == [[0, 0, 3, 2]]


def test_fddb_angle_pi_half_is_a_vertical_ellipse():
    r = rasterize_ellipse(*[v[0] for v in ellipse_draw_args([FACE])])
    ys, xs = np.nonzero(r.mask)
    assert ys.max() - ys.min() == 80 and xs.max() - xs.min() == 60


def test_ellipse_rectangle_overlap_analytic_and_fine_raster():
    """OpenCV's filled ellipse includes its outline pixels: as pixel squares it covers about the
    continuous ellipse of radii a + 1/2, b + 1/2; the rectangle covers [x0 - 1/2, x1 + 1/2]."""
    big = [100.0, 60.0, 0.0, 300.0, 300.0]
    # inside its pixel bounding box (pixels 200..400 x 240..360): overlap = pi / 4
    ov = overlap_matrix([big], [[200, 240, 200, 120, 1.0]])[0, 0]
    assert ov == pytest.approx(np.pi / 4, abs=0.002)
    # a box over the upper-left part, against a fine (10 x 10 per pixel) raster of the continuous shapes
    box = [190.0, 230.0, 130.0, 80.0]  # pixels 190..320 x 230..310 = [189.5, 320.5] x [229.5, 310.5]
    gx, gy = np.meshgrid((np.arange(1500) + 0.5) / 10 + 180.0, (np.arange(1000) + 0.5) / 10 + 220.0)
    inside_e = ((gx - 300) / 100.5) ** 2 + ((gy - 300) / 60.5) ** 2 <= 1
    inside_b = (gx >= 189.5) & (gx <= 320.5) & (gy >= 229.5) & (gy <= 310.5)
    inter = np.count_nonzero(inside_e & inside_b) / 100
    fine = inter / (np.pi * 100.5 * 60.5 + 131 * 81 - inter)
    assert overlap_matrix([big], [box + [1.0]])[0, 0] == pytest.approx(fine, abs=0.003)


@pytest.mark.parametrize("clip", [False, True])
def test_overlaps_equal_full_image_masks(clip):
    """Bounding-box rasters, integral images and clipping give the official full-image counts."""
    rng = np.random.default_rng(7)
    size = (200, 150)
    canvas = (600, 600) if not clip else size
    for _ in range(60):
        ell = [rng.uniform(5, 70), rng.uniform(5, 70), rng.uniform(-1.6, 1.6),
               rng.uniform(-20, 220) + (0 if clip else 200), rng.uniform(-20, 170) + (0 if clip else 200)]
        rect = [rng.uniform(-30, 200) + (0 if clip else 200), rng.uniform(-30, 150) + (0 if clip else 200),
                rng.uniform(5, 120), rng.uniform(5, 120)]
        ours = overlap_matrix([ell], [rect + [1.0]], image_size=size if clip else None)[0, 0]
        assert ours == _official_overlap(ell, rect, canvas)


def test_ellipse_detections_identical_region_overlaps_one():
    far = [20, 10, 0, 300, 300, 0.8]
    ov = overlap_matrix([FACE], [FACE + [0.9], far], fmt="ellipse")
    assert ov.tolist() == [[1.0, 0.0]]
    r = evaluate_fddb(_annotations({"a": [FACE]}), {"a": [FACE + [0.9], far]}, fmt="ellipse")
    assert r.tp_disc.tolist() == [1, 1] and r.fp.tolist() == [1, 0] and r.cont_tpr.tolist() == [1.0, 1.0]


# ------------------------------------------------------------------------------------------------
# Matching and the dataset curve
# ------------------------------------------------------------------------------------------------
def test_hungarian_maximises_total_overlap_not_score_order():
    # det 0 (best score) overlaps both faces; greedy would give it face 0 and leave det 1 unmatched
    p = image_roc_points(np.array([[0.6, 0.58], [0.55, 0.0]]), np.array([0.9, 0.8]))
    assert p.thresholds.tolist() == [0.8, 0.9]
    assert p.tp_disc.tolist() == [2, 1] and p.fp.tolist() == [0, 0]
    assert p.tp_cont.tolist() == pytest.approx([0.58 + 0.55, 0.6])


def test_tied_scores_enter_together():
    p = image_roc_points(np.array([[0.7, 0.0]]), np.array([0.8, 0.8]))
    assert p.thresholds.tolist() == [0.8] and p.tp_disc.tolist() == [1] and p.fp.tolist() == [1]


def test_low_overlap_match_is_a_false_positive_but_scores_in_continuous():
    p = image_roc_points(np.array([[0.4]]), np.array([0.5]))
    assert p.tp_disc.tolist() == [0] and p.fp.tolist() == [1] and p.tp_cont.tolist() == [0.4]


def test_hand_computed_dataset_curve():
    """Duplicate detection, an image without faces, a missed face, ties across images."""
    ann = _annotations({"a": [FACE], "b": [], "c": [FACE], "d": [FACE]})
    dets = {
        "a": [GOOD + [0.9], GOOD + [0.7]],  # duplicate: only one can match
        "b": [GOOD + [0.9]],  # no face in the image: a false positive (ties with a's first box)
        "d": [FAR + [0.5], GOOD + [0.7]],  # "c" has no entry: its face is missed
    }
    with pytest.warns(FDDBMissingImagesWarning, match="1 of 4 fold images have no entry"):
        r = evaluate_fddb(ann, dets)
    iou = _official_overlap(FACE, GOOD, (400, 400))
    assert iou > 0.5
    assert r.num_faces == 3 and r.num_detections == 5 and r.missing_images == ["c"]
    assert r.thresholds.tolist() == [0.5, 0.7, 0.9, DBL_MAX]  # DBL_MAX: "c" has no detection
    assert r.tp_disc.tolist() == [2, 2, 1, 0]
    assert r.fp.tolist() == [3, 2, 1, 0]
    assert r.cont_tpr.tolist() == pytest.approx([2 * iou / 3, 2 * iou / 3, iou / 3, 0.0])
    disc, cont = r.roc_lines()
    assert disc == ["0.666667 3 0.5", "0.666667 2 0.7", "0.333333 1 0.9", "0 0 1.79769e+308"]
    assert cont[-1] == "0 0" and cont[0].endswith(" 3")
    assert r.tpr_at(2) == (pytest.approx(2 / 3), True)
    assert r.tpr_at(1000) == (pytest.approx(2 / 3), False)  # the curve ends at 3 FP


def _naive_merge(points, any_empty):
    """The official Results::merge semantics, one global threshold at a time."""
    ts = sorted({t for p in points for t in p.thresholds} | ({DBL_MAX} if any_empty else set()))
    rows = []
    for t in ts:
        row = np.zeros(3)
        for p in points:
            j = np.searchsorted(p.thresholds, t, side="left")  # smallest own score >= t
            if j < len(p.thresholds):
                row += (p.tp_disc[j], p.fp[j], p.tp_cont[j])
        rows.append(row)
    return np.array(ts), np.array(rows)


def test_merge_equals_the_official_merge():
    rng = np.random.default_rng(3)
    points = []
    for _ in range(40):
        k = int(rng.integers(1, 6))
        thr = np.unique(rng.choice(np.round(rng.uniform(0, 1, 12), 2), k))
        n = len(thr)
        points.append(ImagePoints(thr, rng.integers(0, 3, n)[::-1].cumsum()[::-1], rng.uniform(0, 2, n),
                                  rng.integers(0, 4, n), rng.integers(1, 3, n)))
    thresholds, tp_disc, tp_cont, fp = merge_image_points(points, True)
    ts, rows = _naive_merge(points, True)
    assert thresholds.tolist() == ts.tolist()
    assert tp_disc.tolist() == rows[:, 0].tolist() and fp.tolist() == rows[:, 1].tolist()
    np.testing.assert_allclose(tp_cont, rows[:, 2], atol=1e-12)


def test_tpr_at_fp_takes_the_best_point_not_beyond():
    assert tpr_at_fp(np.array([5, 3, 3, 0]), np.array([0.9, 0.8, 0.7, 0.1]), 4) == 0.8
    assert tpr_at_fp(np.array([5]), np.array([0.9]), 4) == 0.0


# ------------------------------------------------------------------------------------------------
# Reading and writing files
# ------------------------------------------------------------------------------------------------
CLEAN = "2002/08/11/big/img_591\n2\n10 20 30 40 0.9\n1.5 2.5 3.5 4.5 0.25\n2002/08/26/big/img_265\n0\n"


def test_crlf_eof_byte_blanks_and_jpg_suffix_are_accepted(tmp_path):
    messy = ("2002/08/11/big/img_591.jpg  \r\n2\r\n10 20 30 40 0.9 extra\r\n\r\n1.5 2.5 3.5 4.5 0.25\t\r\n"
             "2002/08/26/big/img_265\r\n0\r\n\r\n\x1a")
    (tmp_path / "clean.txt").write_text(CLEAN)
    (tmp_path / "messy.txt").write_bytes(messy.encode())
    clean, got = read_detections(tmp_path / "clean.txt"), read_detections(tmp_path / "messy.txt")
    assert list(got) == list(clean) == ["2002/08/11/big/img_591", "2002/08/26/big/img_265"]
    assert all(np.array_equal(got[k], clean[k]) for k in clean)
    assert got["2002/08/26/big/img_265"].shape == (0, 5)


@pytest.mark.parametrize("content,line,match", [
    ("img_1\ntwo\n1 2 3 4 0.5\n", 2, "expected the number of regions of img_1"),
    ("img_1\n-1\n", 2, "expected the number of regions"),
    ("img_1\n1\n1 2 3 0.5\n", 3, "expected 'x y w h score'"),
    ("img_1\n1\n1 2 3 x 0.5\n", 3, "expected 'x y w h score'"),
    ("img_1\n1\n1 2 3 4 nan\n", 3, "non-finite"),
    ("img_1\n3\n1 2 3 4 0.5\n", 2, "declares 3 regions, the file ends after 1"),
    ("img_1\n2\n1 2 3 4 0.5\nimg_2\n0\n", 4, "the count on line 2 may be too large"),
    ("img_1\n1\n1 2 3 4 0.5\n5 6 7 8 0.4\n", 4, "expected an image name"),
    ("img_1\n0\nimg_1\n0\n", 3, "listed twice"),
    ("img_1\n", 1, "has no region count"),
    ("img_1\n1\n1 2 3 4 0.5\n\x1a\nimg_2\n0\n", 4, "expected an image name"),  # \x1a not at the end
])
def test_malformed_detection_files_name_file_and_line(tmp_path, content, line, match):
    f = tmp_path / "bad.txt"
    f.write_bytes(content.encode())
    with pytest.raises(FDDBFormatError, match=match) as info:
        read_detections(f)
    assert str(info.value).startswith(f"{f}:{line}: ")


def test_malformed_ellipses_name_file_and_line(tmp_path):
    f = tmp_path / "FDDB-fold-01-ellipseList.txt"
    f.write_text("img_1\n1\n-3 2 0.5 10 10 1\n")
    with pytest.raises(FDDBFormatError, match=r"bad\.txt|ellipse radii") as info:
        read_ellipse_list(f)
    assert str(info.value).startswith(f"{f}:3: ")
    with pytest.raises(FDDBFormatError, match="file not found"):
        read_detections(tmp_path / "missing.txt")
    with pytest.raises(FDDBFormatError, match="format must be one of"):
        read_detections(f, fmt="box")


def test_write_then_read_round_trip(tmp_path):
    dets = {"2002/08/11/big/img_591": np.array([[1.25, 2.5, 30, 40, 0.987654]]),
            "2002/08/26/big/img_265": np.zeros((0, 5)), "2003/01/01/big/img_1": [[5, 6, 7, 8, 0.5]]}
    assert write_fddb_detections(tmp_path / "d.txt", dets) == 2
    back = read_detections(tmp_path / "d.txt")
    assert list(back) == list(dets)
    np.testing.assert_allclose(back["2002/08/11/big/img_591"], dets["2002/08/11/big/img_591"])
    ell = {"a": np.zeros((0, 6)), "b": [FACE + [0.5]]}
    write_fddb_detections(tmp_path / "e.txt", ell)
    np.testing.assert_allclose(read_detections(tmp_path / "e.txt", fmt="ellipse")["b"], [FACE + [0.5]], atol=1e-3)
    with pytest.raises(FDDBFormatError, match="all be"):
        write_fddb_detections(tmp_path / "x.txt", {"a": [[1, 2, 3, 4, 5]], "b": [FACE + [0.5]]})
    with pytest.raises(FDDBFormatError, match="non-finite"):
        write_fddb_detections(tmp_path / "x.txt", {"a": [[1, 2, 3, np.inf, 5]]})


def test_folds_and_fold_files(tmp_path):
    assert parse_folds("1-10") == list(range(1, 11)) and parse_folds("3") == [3]
    assert parse_folds("1,4-6") == [1, 4, 5, 6]
    for bad in ("0", "11", "1-", "x", ""):
        with pytest.raises(FDDBFormatError, match="folds"):
            parse_folds(bad)
    (tmp_path / "FDDB-fold-02.txt").write_text("a\r\nb\r\n")
    (tmp_path / "FDDB-fold-02-ellipseList.txt").write_text(f"a\n1\n{' '.join(map(str, FACE))} 1\nb\n0\n")
    assert read_fold_images(tmp_path, "2") == ["a", "b"]
    ann = load_annotations(tmp_path, [2])
    assert ann.names == ["a", "b"] and ann.num_faces == 1 and ann.folds == [2]
    with pytest.raises(FDDBFormatError, match="FDDB-fold-01-ellipseList.txt"):
        load_annotations(tmp_path, "1-2")


def test_unknown_and_missing_images_warn_once_with_a_count():
    ann = _annotations({"a": [FACE], "b": [FACE], "c": [FACE]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = evaluate_fddb(ann, {"a": [GOOD + [0.9]], "x": [GOOD + [0.9]], "y": [GOOD + [0.8]]})
    kinds = [(w.category, str(w.message)) for w in caught]
    assert len(kinds) == 2
    assert kinds[0][0] is FDDBUnknownImagesWarning and kinds[0][1].startswith("2 images of the detections")
    assert kinds[1][0] is FDDBMissingImagesWarning and kinds[1][1].startswith("2 of 3 fold images")
    assert r.unknown_images == ["x", "y"] and r.num_detections == 1


def test_image_size_from_header(tmp_path):
    img = np.zeros((23, 37, 3), np.uint8)
    cv2.imwrite(str(tmp_path / "a.jpg"), img)
    cv2.imwrite(str(tmp_path / "b.png"), img)
    assert read_image_size(tmp_path / "a.jpg") == (37, 23)
    assert read_image_size(tmp_path / "b.png") == (37, 23)  # not a JPEG: decoded
    (tmp_path / "c.jpg").write_bytes(b"not an image")
    with pytest.raises(FDDBFormatError, match="not a decodable image"):
        read_image_size(tmp_path / "c.jpg")
    with pytest.raises(FDDBFormatError, match="cannot read image"):
        read_image_size(tmp_path / "missing.jpg")


def test_clipping_changes_only_regions_beyond_the_image():
    # a face at the left border: clipped, its area shrinks and the overlap with the in-image box rises
    ann = _annotations({"a": [[40.0, 30.0, np.pi / 2, 0.0, 100.0]]})  # half of it left of the image
    dets = {"a": [[0.0, 60.0, 30.0, 80.0, 0.9]]}
    free = evaluate_fddb(ann, dets)
    clipped = evaluate_fddb(ann, dets, image_sizes={"a": (300, 300)})
    assert clipped.clipped and not free.clipped
    inside = np.pi * 30.5 * 40.5 / 2 + 40.5  # right half (pixel convention) + the centre column
    assert free.cont_tpr[0] == pytest.approx(inside / (np.pi * 30.5 * 40.5 + 31 * 81 - inside), abs=0.01)
    assert clipped.cont_tpr[0] == pytest.approx(inside / (31 * 81), abs=0.01)  # the clipped face is in the box
    assert free.tp_disc.tolist() == [0] and clipped.tp_disc.tolist() == [1]
    with pytest.raises(FDDBFormatError, match="no image size for 1 fold images"):
        evaluate_fddb(ann, dets, image_sizes={})


# ------------------------------------------------------------------------------------------------
# Shared data: the three published detection files and the official ROC of pyface
# ------------------------------------------------------------------------------------------------
def _equal_fp_max_difference(fp_a, tpr_a, fp_b, tpr_b):
    """Largest |TPR difference| over FP = 0 .. min(max FP); TPR(f) = best TPR with FP <= f."""
    fps = np.arange(int(min(fp_a.max(), fp_b.max())) + 1)
    a = np.array([tpr_at_fp(fp_a, tpr_a, f) for f in fps])
    b = np.array([tpr_at_fp(fp_b, tpr_b, f) for f in fps])
    k = int(np.argmax(np.abs(a - b)))
    return float(abs(a[k] - b[k])), int(fps[k])


@pytest.fixture(scope="module")
def fddb_annotations(fddb_dir):
    return load_annotations(fddb_dir / "FDDB-folds")


@pytest.fixture(scope="module")
def reference(fddb_dir):
    ref = fddb_dir / "reference_roc"
    return read_roc_file(ref / "pyfaceDiscROC.txt"), read_roc_file(ref / "pyfaceContROC.txt")


def test_shared_detection_files_and_their_quirks(fddb_dir, fddb_annotations):
    """JDA: DOS EOF byte, negative scores; mtcnn-tensorflow: CRLF, EOF byte, 290 images absent,
    boxes above the image, many tied scores; pyface: CRLF, EOF byte, an image with count 0."""
    assert len(fddb_annotations.names) == 2845 and fddb_annotations.num_faces == 5171
    expect = {"JDA": (2845, 3778, 0), "mtcnn-tensorflow": (2555, 4117, 290), "pyface": (2845, 5805, 0)}
    for name, (images, boxes, missing) in expect.items():
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = evaluate_fddb(fddb_annotations, fddb_dir / "detections" / f"{name}.txt")
        seconds = time.perf_counter() - t0
        dets = read_detections(fddb_dir / "detections" / f"{name}.txt")
        assert (len(dets), r.num_detections, len(r.missing_images)) == (images, boxes, missing)
        assert len(caught) == (1 if missing else 0)
        print(f"{name}: 10 folds in {seconds:.2f} s; discrete TPR {r.tpr_at(1000)[0]:.4f} at "
              f"{min(1000, int(r.fp.max()))} FP, continuous {r.tpr_at(1000, 'cont')[0]:.4f}")
    assert (read_detections(fddb_dir / "detections" / "JDA.txt")["2002/08/11/big/img_591"][:, 4] > 0).all()


def test_pyface_against_the_official_program_without_clipping(fddb_annotations, fddb_dir, reference):
    """Without images nothing is clipped; the official run had the images. Same thresholds, row for
    row; measured: 48 detections (0.0093 TPR) differ at the lowest threshold, all from faces that
    extend beyond the image (see the next test)."""
    ref_disc, ref_cont = reference
    r = evaluate_fddb(fddb_annotations, fddb_dir / "detections" / "pyface.txt")
    disc, _ = r.roc_lines()
    assert [line.split()[2] for line in disc] == [f"{t:.6g}" for t in ref_disc[:, 2]]  # 2189 thresholds
    row_disc = np.abs(np.round(r.disc_tpr, 6) - ref_disc[:, 0]).max()
    row_cont = np.abs(np.round(r.cont_tpr, 6) - ref_cont[:, 0]).max()
    eq_disc = _equal_fp_max_difference(r.fp, r.disc_tpr, ref_disc[:, 1], ref_disc[:, 0])
    eq_cont = _equal_fp_max_difference(r.fp, r.cont_tpr, ref_cont[:, 1], ref_cont[:, 0])
    print(f"unclipped pyface vs official: per threshold max |dTPR| disc {row_disc:.5f} cont {row_cont:.5f}, "
          f"max FP difference {int(np.abs(r.fp - ref_disc[:, 1]).max())}; at equal FP disc {eq_disc[0]:.5f} "
          f"(at {eq_disc[1]} FP) cont {eq_cont[0]:.5f} (at {eq_cont[1]} FP)")
    assert row_disc <= 0.0095 and row_cont <= 0.0085  # measured 0.00928 / 0.00812
    assert eq_disc[0] <= 0.037 and eq_cont[0] <= 0.029  # measured 0.0356 / 0.0279, steep part (4 FP)
    assert (r.fp >= ref_disc[:, 1]).all()  # the unclipped faces only ever lose matches


def _sizes_recovered_from_pyface(annotations, dets):
    """Left and top borders are 0; pyface clipped its boxes to the image, so a box edge on an integer
    x + w (y + h) is the image's width (height). Unknown sides stay unclipped (10**6)."""
    sizes = {}
    for name in annotations.names:
        d = dets.get(name, np.zeros((0, 5)))
        x2, y2 = d[:, 0] + d[:, 2], d[:, 1] + d[:, 3]
        xi, yi = x2[np.abs(x2 - np.rint(x2)) < 1e-6], y2[np.abs(y2 - np.rint(y2)) < 1e-6]
        sizes[name] = (int(np.rint(xi.max())) if len(xi) else 10**6, int(np.rint(yi.max())) if len(yi) else 10**6)
    return sizes


def test_pyface_with_clipping_equals_the_official_program(fddb_annotations, fddb_dir, reference):
    """The whole gap is clipping: with the image borders that pyface's own boxes reveal (126 widths,
    29 heights; left/top are 0) the discrete ROC equals the official output line for line and the
    continuous one differs by at most 0.00033 (faces beyond unrecovered right/bottom borders)."""
    ref_disc, ref_cont = reference
    dets = read_detections(fddb_dir / "detections" / "pyface.txt")
    sizes = _sizes_recovered_from_pyface(fddb_annotations, dets)
    assert sum(w < 10**6 for w, _ in sizes.values()) == 126 and sum(h < 10**6 for _, h in sizes.values()) == 29
    r = evaluate_fddb(fddb_annotations, dets, image_sizes=sizes)
    disc, _ = r.roc_lines()
    official = (fddb_dir / "reference_roc" / "pyfaceDiscROC.txt").read_text().split()
    assert " ".join(disc).split() == official  # every line: tpr, fp and threshold as printed
    row_cont = np.abs(np.round(r.cont_tpr, 6) - ref_cont[:, 0]).max()
    eq_cont = _equal_fp_max_difference(r.fp, r.cont_tpr, ref_cont[:, 1], ref_cont[:, 0])
    print(f"pyface clipped at the recovered borders: discrete identical, continuous max |dTPR| {row_cont:.5f} "
          f"per threshold, {eq_cont[0]:.5f} at equal FP")
    assert row_cont <= 0.0004 and eq_cont[0] <= 0.0004  # measured 0.00033
