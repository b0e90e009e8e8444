"""Seeded random weights that give a meaningful detector output (``--allow_random_weights``, tests, benchmarks).

Works on any :class:`~ppdet_face.modeling.detector.FaceDetector` whose head has one ``score_convs`` and
one ``box_convs`` convolution per level (the convolutions producing the logits and the box deltas).
"""
import numpy as np
import paddle
import paddle.nn as nn

__all__ = ["init_random_weights"]


def _synthetic_batch(seed, normalization=None, size=320, num=4):
    """Smooth random colour images for weight calibration, normalised as ``normalization`` = ``(mean, std,
    is_scale)`` says (a config's NormalizeImage: ``ppdet_face.data.preprocess.normalization``), or, without it,
    standardised to zero mean and unit variance."""
    import cv2

    rng = np.random.RandomState(seed)
    images = []
    for _ in range(num):
        small = rng.rand(size // 16, size // 16, 3).astype("float32") * 255.0
        img = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
        images.append(img + rng.randn(size, size, 3).astype("float32") * 8.0)
    batch = np.stack(images)
    if normalization is None:
        batch = (batch - batch.mean()) / batch.std()
    else:
        mean, std, is_scale = normalization
        batch = ((batch / 255.0 if is_scale else batch) - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return batch.transpose(0, 3, 1, 2).astype("float32")


def init_random_weights(model, seed=0, face_logit_bias=-8.0, logit_std=1.5, delta_std=0.5, images=None,
                        normalization=None):
    """Seeded random weights that give a *meaningful* detector output (for tests and benchmarks).

    Conv weights come from ``paddle.seed(seed)`` re-initialisation; every BatchNorm gets the
    mean/variance of its input on a synthetic batch (so activations stay O(1) through the
    depth); the head convs are rescaled so face-vs-background logits have std ``logit_std``
    around ``face_logit_bias`` and box deltas have std ``delta_std``. With the defaults a few
    percent of the anchors pass a 0.01 score threshold, so NMS and the exported graph are
    exercised with many boxes. The model is left in eval mode.

    Args:
        model: a :class:`~ppdet_face.modeling.detector.FaceDetector`.
        seed (int): seed of the weights and of the calibration images. Default: 0.
        images (np.ndarray|None): [B, 3, H, W] normalised calibration batch; synthetic if None. Default: None.
        normalization (tuple|None): ``(mean, std, is_scale)`` of the model's config for the synthetic batch;
            None standardises it. Default: None.
        face_logit_bias (float): mean face-minus-background logit. Default: -8.0.
        logit_std (float): std of that logit difference. Default: 1.5.
        delta_std (float): std of the box deltas. Default: 0.5.

    Returns:
        the model, in eval mode.
    """
    paddle.seed(seed)
    model.eval()
    _reinit_convs_and_norms(model)
    x = paddle.to_tensor(_synthetic_batch(seed, normalization) if images is None else images)
    feats = _calibrate_norms(model, x)
    _calibrate_head(model.head, feats, face_logit_bias, logit_std, delta_std)
    model.eval()
    return model


def _reinit_convs_and_norms(model):
    """He-normal conv weights, zero biases, identity BatchNorm affine parameters."""
    with paddle.no_grad():
        for layer in model.sublayers():
            if isinstance(layer, nn.Conv2D):
                fan_in = int(np.prod(layer.weight.shape[1:]))
                layer.weight.set_value(paddle.randn(layer.weight.shape, "float32") * float(np.sqrt(2.0 / fan_in)))
                if layer.bias is not None:
                    layer.bias.set_value(paddle.zeros(layer.bias.shape, "float32"))
            elif isinstance(layer, nn.BatchNorm2D):
                layer.weight.set_value(paddle.ones(layer.weight.shape, "float32"))
                layer.bias.set_value(paddle.zeros(layer.bias.shape, "float32"))


def _calibrate_norms(model, x):
    """Give every BatchNorm the statistics of its input on ``x``; returns the head's input features."""

    def set_stats(layer, inputs):
        t = inputs[0]
        layer._mean.set_value(t.mean(axis=[0, 2, 3]))
        layer._variance.set_value(t.var(axis=[0, 2, 3], unbiased=False) + 1e-3)

    hooks = [bn.register_forward_pre_hook(set_stats) for bn in model.sublayers() if isinstance(bn, nn.BatchNorm2D)]
    try:
        with paddle.no_grad():
            return model.features(x)
    finally:
        for h in hooks:
            h.remove()


def _calibrate_head(head, feats, face_logit_bias, logit_std, delta_std):
    """Rescale the last convs: logit differences with std ``logit_std`` around ``face_logit_bias``,
    deltas with std ``delta_std``."""
    ncls = head.num_classes  # foreground classes + background (last)
    with paddle.no_grad():
        for feat, conv in zip(feats, head.score_convs):
            out = conv(feat).numpy()
            out = out.reshape(out.shape[0], -1, ncls, *out.shape[2:])
            diff = out[:, :, :-1] - out[:, :, -1:]
            conv.weight.set_value(conv.weight * float(logit_std / (diff.std() + 1e-6)))
            bias = np.zeros(conv.bias.shape, "float32").reshape(-1, ncls)
            bias[:, :-1] = face_logit_bias
            conv.bias.set_value(bias.reshape(-1))
        for feat, conv in zip(feats, head.box_convs):
            out = conv(feat).numpy()
            conv.weight.set_value(conv.weight * float(delta_std / (out.std() + 1e-6)))
