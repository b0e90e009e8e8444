"""Shared fixtures: the shared/ real-data folder."""
import pytest

from helpers import shared_dir


@pytest.fixture
def shared():
    path = shared_dir()
    if not (path / "data").is_dir():
        pytest.skip(f"real test material not found at {path} (set PPDET_FACE_SHARED)")
    return path
