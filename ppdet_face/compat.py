"""PaddleDetection 2.6.0 fixes we need, in one named place.

Each fix is a small function whose docstring says what is wrong upstream; :func:`apply`
runs them once (``import ppdet_face`` calls it). Nothing in site-packages is edited: the
fixes replace module attributes at import time. ``tests/test_compat.py`` checks each one.

Most Paddle-3 breakage of the BlazeFace path is avoided by our own code instead (our loss,
anchors, NMS call, export, predictor and FLOP counter); only what must change inside ppdet's
trainer lives here.
"""
import os

__all__ = ["apply", "APPLIED", "atomic_save_model"]

#: Names of the fixes applied so far.
APPLIED = []


def _atomic_paddle_save(obj, path):
    """``paddle.save`` to ``path`` through a temporary file and an atomic rename."""
    import paddle

    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        paddle.save(obj, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_save_model(model, optimizer, save_dir, save_name, last_epoch, ema_model=None):
    """Drop-in for ``ppdet.utils.checkpoint.save_model`` that never leaves a torn checkpoint.

    Upstream writes ``<name>.pdparams`` and ``<name>.pdopt`` in place with ``paddle.save``: a
    kill during the write leaves a truncated file under the checkpoint's final name (and, for
    ``model_final`` or a numbered snapshot being rewritten, destroys the previous good one).
    Here every file is written to a temporary name, synced, then renamed over the target.
    """
    import paddle
    from ppdet.utils.logger import setup_logger

    if paddle.distributed.get_rank() != 0:
        return
    if not isinstance(model, dict):
        raise TypeError("save_model expects a state_dict (call model.state_dict())")
    os.makedirs(save_dir, exist_ok=True)
    save_path = os.path.join(save_dir, save_name)
    if ema_model is None:
        _atomic_paddle_save(model, save_path + ".pdparams")
    else:
        _atomic_paddle_save(ema_model, save_path + ".pdparams")
        _atomic_paddle_save(model, save_path + ".pdema")
    state_dict = optimizer.state_dict()
    state_dict["last_epoch"] = last_epoch
    _atomic_paddle_save(state_dict, save_path + ".pdopt")
    setup_logger("ppdet.utils.checkpoint").info("Save checkpoint: {}".format(save_dir))


def _fix_atomic_checkpoints():
    import ppdet.engine.callbacks as callbacks
    import ppdet.utils.checkpoint as checkpoint

    checkpoint.save_model = atomic_save_model
    callbacks.save_model = atomic_save_model  # the Checkpointer imported the name directly


_FIXES = {"atomic_checkpoints": _fix_atomic_checkpoints}


def apply():
    """Apply every fix once. Returns the list of applied fix names."""
    for name, fix in _FIXES.items():
        if name not in APPLIED:
            fix()
            APPLIED.append(name)
    return list(APPLIED)


apply()
