"""deploy/python/preprocess.py: image decoding errors are DeployErrors."""
import pytest


def test_empty_and_unreadable_files_are_deploy_errors(tmp_path):
    from deploy.python.preprocess import DeployError, decode_image

    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(DeployError, match="empty file"):
        decode_image(str(empty))
    with pytest.raises(DeployError, match="not a readable image"):
        decode_image(b"")
