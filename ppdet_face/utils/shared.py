"""Where the shared real material lives (``../shared``: real WIDER images, published weights, peers)."""
import os
import pathlib

__all__ = ["SHARED_ENV", "shared_dir"]

#: Environment variable that points at the shared folder (the configs read it too: ``${PPDET_FACE_SHARED:-...}``).
SHARED_ENV = "PPDET_FACE_SHARED"
_REPO = pathlib.Path(__file__).resolve().parents[2]


def shared_dir() -> pathlib.Path:
    """``$PPDET_FACE_SHARED``, else ``shared/`` beside the repository (absolute; it may not exist)."""
    return pathlib.Path(os.environ.get(SHARED_ENV) or _REPO.parent / "shared").resolve()
