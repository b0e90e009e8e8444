"""PaddleDetection 2.6.0 fixes we need, in one named place.

Each fix is a small function whose docstring says what is wrong upstream; :func:`apply`
runs them once (``import ppdet_face`` calls it). Nothing in site-packages is edited: the
fixes replace module attributes at import time. ``tests/test_compat.py`` checks each one.

Most Paddle-3 breakage of the BlazeFace path is avoided by our own code instead (our loss,
anchors, NMS call, export, predictor and FLOP counter); only what must change inside ppdet's
trainer lives here.
"""
import os

__all__ = ["apply", "APPLIED", "atomic_save_model", "reader_failure"]

#: Names of the fixes applied so far.
APPLIED = []

#: Last error that killed a DataLoader's reader thread in this process (one line), or None.
_READER_FAILURE = []


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


def _one_line(exc):
    """``Type: message`` of ``exc``, keeping only the last line of a worker's re-raised traceback."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[-1] if lines else ""
    return text if text.startswith(type(exc).__name__) else f"{type(exc).__name__}: {text}"


def _guard_reader_thread(loop):
    def guarded_loop(self, *args, **kwargs):
        try:
            return loop(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001  (recorded, then re-raised in the main thread; see below)
            _READER_FAILURE[:] = [_one_line(exc)]
            self._exit_thread_unexpectedly()  # kills the queue: the main thread's next() raises

    return guarded_loop


def reader_failure():
    """The one-line error that killed a data reader thread of this process, or None."""
    return _READER_FAILURE[0] if _READER_FAILURE else None


def _fix_reader_thread_errors():
    """Paddle 3.3's single-process DataLoader (``worker_num: 0``) hangs when the dataset raises.

    ``_DataLoaderIterSingleProcess._thread_loop`` handles only ``StopIteration`` around the dataset
    fetch: any other exception ends the reader thread without killing the blocking queue, and the
    training loop waits on it forever. The multi-process loader kills the queue, but the main thread
    then only sees ``SystemError: Blocking queue is killed``. Both loops are wrapped: the error is
    recorded (:func:`reader_failure`) and the queue killed, so ``next()`` raises and the trainer
    can report what failed.
    """
    from paddle.io.dataloader import dataloader_iter

    for cls in (dataloader_iter._DataLoaderIterSingleProcess, dataloader_iter._DataLoaderIterMultiProcess):
        cls._thread_loop = _guard_reader_thread(cls._thread_loop)


_FIXES = {"atomic_checkpoints": _fix_atomic_checkpoints, "reader_thread_errors": _fix_reader_thread_errors}


def apply():
    """Apply every fix once. Returns the list of applied fix names."""
    for name, fix in _FIXES.items():
        if name not in APPLIED:
            fix()
            APPLIED.append(name)
    return list(APPLIED)


apply()
