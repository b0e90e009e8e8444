"""The one box coder: SSD centre-size encoding of boxes (and of points, e.g. landmarks) w.r.t. anchors, and its
inverse.

The head owns it (``FaceAnchorHead.prior_box_var``); the loss encodes its targets and the post-process
decodes the network's deltas with that same object, which the detector hands to both. The variances
are therefore set once per config and cannot disagree between training and inference.
"""
import paddle

__all__ = ["BoxCoder"]


class BoxCoder:
    """SSD / Faster R-CNN box encoding with per-coordinate variances.

    Args:
        variances (list[float]): ``[var_x, var_y, var_w, var_h]``, each > 0. Default: [0.1, 0.1, 0.2, 0.2]
            (SSD's; SSH uses [1, 1, 1, 1], Faster R-CNN's unnormalised targets).

    Raises:
        ValueError: not 4 positive values.
    """

    def __init__(self, variances=(0.1, 0.1, 0.2, 0.2)):
        if len(variances) != 4 or any(float(v) <= 0 for v in variances):
            raise ValueError(f"prior_box_var needs 4 positive values, got {list(variances)}")
        self.variances = [float(v) for v in variances]

    def __repr__(self):
        return f"BoxCoder(variances={self.variances})"

    def encode(self, gt, anchors):
        """Deltas of ``gt`` [..., 4] w.r.t. ``anchors`` [..., 4] (both ``x1, y1, x2, y2``; broadcast).

        Returns:
            Tensor: ``[..., 4]`` ``(dx, dy, dw, dh)`` divided by the variances.
        """
        var = self.variances
        aw = anchors[..., 2] - anchors[..., 0]
        ah = anchors[..., 3] - anchors[..., 1]
        ax = anchors[..., 0] + 0.5 * aw
        ay = anchors[..., 1] + 0.5 * ah
        gw = (gt[..., 2] - gt[..., 0]).clip(min=1e-6)
        gh = (gt[..., 3] - gt[..., 1]).clip(min=1e-6)
        gx = gt[..., 0] + 0.5 * gw
        gy = gt[..., 1] + 0.5 * gh
        return paddle.stack([(gx - ax) / aw / var[0], (gy - ay) / ah / var[1],
                             paddle.log(gw / aw) / var[2], paddle.log(gh / ah) / var[3]], axis=-1)

    def decode(self, deltas, anchors):
        """Inverse of :meth:`encode`: ``deltas`` [B, A, 4] w.r.t. ``anchors`` [A, 4] -> ``x1, y1, x2, y2``.

        The float operations are those of PaddleDetection's ``SSDBox`` (same order), on x/y pairs;
        traceable under ``to_static(full_graph=True)``.

        Returns:
            Tensor: ``[B, A, 4]`` boxes in the anchors' units.
        """
        a_lo, a_hi = anchors[:, 0:2], anchors[:, 2:4]
        a_wh = a_hi - a_lo
        a_ctr = a_lo + a_wh * 0.5
        var_xy = paddle.to_tensor(self.variances[0:2], dtype="float32")
        var_wh = paddle.to_tensor(self.variances[2:4], dtype="float32")
        ctr = a_ctr + deltas[..., 0:2] * a_wh * var_xy
        wh = paddle.exp(deltas[..., 2:4] * var_wh) * a_wh
        return paddle.concat([ctr - wh / 2.0, ctr + wh / 2.0], axis=-1)

    def encode_points(self, points, anchors):
        """Offsets of ``points`` [..., 2P] (``x, y`` pairs) from the anchor centres, in anchor sizes divided by the
        centre variances (RetinaFace's landmark encoding); ``anchors`` [..., 4] broadcast.

        Returns:
            Tensor: ``[..., 2P]``.
        """
        a_lo, a_hi = anchors[..., 0:2], anchors[..., 2:4]
        a_wh = a_hi - a_lo
        scale = a_wh * paddle.to_tensor(self.variances[0:2], dtype="float32")
        ctr = a_lo + a_wh * 0.5
        shape = points.shape[:-1] + [points.shape[-1] // 2, 2]
        return ((points.reshape(shape) - ctr.unsqueeze(-2)) / scale.unsqueeze(-2)).reshape(points.shape)

    def decode_points(self, deltas, anchors):
        """Inverse of :meth:`encode_points`: ``deltas`` [B, A, 2P] w.r.t. ``anchors`` [A, 4] -> points
        ``[B, A, 2P]`` (``x, y`` pairs) in the anchors' units; traceable under ``to_static(full_graph=True)``."""
        a_lo, a_hi = anchors[:, 0:2], anchors[:, 2:4]
        a_wh = a_hi - a_lo
        scale = a_wh * paddle.to_tensor(self.variances[0:2], dtype="float32")
        ctr = (a_lo + a_wh * 0.5).tile([1, deltas.shape[-1] // 2])
        return ctr + deltas * scale.tile([1, deltas.shape[-1] // 2])
