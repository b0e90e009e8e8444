"""Network backends of the WIDER predictor: the detector's trunk in dygraph or in Paddle Inference.

Both return what :meth:`FaceDetector.raw_outputs` returns plus the anchors: ``(deltas [B, A, 4],
logits [B, A, C + 1], anchors [A, 4])``; decoding and NMS stay with the detector's post-process.
"""
import os
import tempfile
import warnings

import numpy as np

__all__ = ["BACKENDS", "DygraphNet", "InferenceNet", "available_cores", "make_net"]

#: Network backends of :class:`~ppdet_face.evaluation.predictor.WiderFacePredictor`.
BACKENDS = ("auto", "inference", "dygraph")


class DygraphNet:
    """``model.raw_outputs`` under ``no_grad``: bit-identical to the eval forward."""

    name = "dygraph"

    def __init__(self, model):
        self.model = model
        self._anchors = {}

    def anchors(self, feat_shapes, image):
        """The detector's anchors, cached per (input size, feature sizes)."""
        import paddle

        sizes = [tuple(int(v) for v in np.asarray(s).reshape(-1)) for s in feat_shapes]
        key = (tuple(image.shape[2:4]), tuple(sizes))
        if key not in self._anchors:
            with paddle.no_grad():
                self._anchors[key] = self.model.anchors(sizes, image)
        return self._anchors[key]

    def __call__(self, image):
        import paddle

        with paddle.no_grad():
            deltas, logits, shapes = self.model.raw_outputs(image)
        return deltas, logits, self.anchors([s.numpy() for s in shapes], image)


def _trunk(model):
    import paddle

    class _Trunk(paddle.nn.Layer):
        """The detector's trunk as one layer to trace: deltas, logits, then each level's feature H, W."""

        def __init__(self, detector):
            super().__init__()
            self.detector = detector

        def forward(self, image):
            deltas, logits, shapes = self.detector.raw_outputs(image)
            return [deltas, logits] + list(shapes)

    return _Trunk(model)


class InferenceNet(DygraphNet):
    """The trunk exported once (:func:`ppdet_face.export.export_program`) and run by Paddle Inference
    with oneDNN; anchors are the detector's own, in dygraph.

    Export options (named, with the reason): ``ir="legacy"`` without op rewrites, because Paddle 3.3's
    PIR oneDNN kernels crash on this network (pool2d / batch_norm segfault, nearest_interp attribute
    error); predictor: ``conv_bn_fuse_pass`` deleted, because it produces wrong outputs for this network
    on the legacy program (so do conv-bias fusions of a BN-folded copy). :meth:`self_check` compares
    against dygraph before use.
    """

    name = "inference"

    def __init__(self, model, num_threads=None):
        from paddle import inference
        from paddle.static import InputSpec

        from ppdet_face.export import export_program

        super().__init__(model)
        with tempfile.TemporaryDirectory(prefix="ppdet_face_infer_") as tmp:
            export_program(_trunk(model), tmp, [InputSpec([None, 3, None, None], "float32", "image")], target=None,
                           ir="legacy")
            config = inference.Config(os.path.join(tmp, "model.pdmodel"), os.path.join(tmp, "model.pdiparams"))
            config.disable_gpu()
            config.set_cpu_math_library_num_threads(int(num_threads or 0) or available_cores())
            config.enable_new_ir(False)
            config.enable_onednn()
            config.delete_pass("conv_bn_fuse_pass")  # wrong results on this network (Paddle 3.3.1)
            config.disable_glog_info()
            self.predictor = inference.create_predictor(config)

    def __call__(self, image):
        deltas, logits, *shapes = self.predictor.run([image])
        return deltas, logits, self.anchors([s.numpy() for s in shapes], image)

    def self_check(self, rtol=1e-3):
        """Compare with dygraph on a seeded random input; raise RuntimeError on a mismatch."""
        import paddle

        x = paddle.to_tensor(np.random.default_rng(0).standard_normal((1, 3, 72, 104)).astype(np.float32))
        for name, a, b in zip(("deltas", "logits", "anchors"), self(x), DygraphNet(self.model)(x)):
            a, b = a.numpy(), b.numpy()
            scale = max(1.0, float(np.abs(b).max()))
            if a.shape != b.shape or float(np.abs(a - b).max()) > rtol * scale:
                raise RuntimeError(f"Paddle Inference {name} differ from dygraph (shape {a.shape} vs {b.shape})")


def available_cores():
    """CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def make_net(model, backend, num_threads):
    """The network of ``backend`` (one of :data:`BACKENDS`); ``auto`` falls back to dygraph with a warning."""
    import paddle

    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "dygraph":
        return DygraphNet(model)
    usable = (paddle.get_device() == "cpu" and getattr(paddle.base.core, "is_compiled_with_onednn", lambda: False)()
              and hasattr(paddle, "pir_utils") and hasattr(paddle.pir_utils, "OldIrGuard"))
    if backend == "auto" and not usable:
        return DygraphNet(model)
    try:
        net = InferenceNet(model, num_threads)
        net.self_check()
        return net
    except Exception as exc:  # noqa: BLE001  (export / predictor / self-check failure: reported, never silent)
        reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ''}"
        if backend == "inference":
            raise RuntimeError(f"Paddle Inference backend unavailable ({reason})") from exc
        warnings.warn(f"Paddle Inference backend unavailable ({reason}); using dygraph", RuntimeWarning, stacklevel=3)
        return DygraphNet(model)
