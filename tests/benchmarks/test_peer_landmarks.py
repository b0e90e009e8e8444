"""The peers' five-point decoders (YuNet, RetinaFace-mnet0.25, SCRFD) on a real portrait: the points of the face
fall inside it in the FIVE_POINTS order; a peer without landmarks says so."""
import pytest

import benchmarks.peers as peers
from helpers import PORTRAIT_FACE, real_photo


@pytest.mark.parametrize("key", peers.LANDMARK_PEERS)
def test_peer_points_sit_on_the_portrait_face(shared, key):
    cls = peers.PEERS[key]
    if not (shared / "peers" / cls.model).is_file():
        pytest.skip(f"peer model {cls.model} not found under {shared / 'peers'}")
    boxes, scores, points = cls(shared / "peers", threads=2, score_threshold=0.5).detect_landmarks(real_photo())
    assert len(boxes) == len(scores) == len(points) == 1 and points.shape == (1, 5, 2)
    (eye_l, eye_r, nose, mouth_l, mouth_r) = points[0]
    x1, y1, x2, y2 = PORTRAIT_FACE
    assert all(x1 < x < x2 and y1 < y < y2 for x, y in points[0])
    assert eye_l[0] < nose[0] < eye_r[0] and mouth_l[0] < mouth_r[0]
    assert max(eye_l[1], eye_r[1]) < nose[1] < min(mouth_l[1], mouth_r[1])


def test_a_peer_without_landmarks_is_a_peer_error(shared):
    cls = peers.PEERS["retinaface_mnet025"]
    if not (shared / "peers" / cls.model).is_file():
        pytest.skip(f"peer model {cls.model} not found under {shared / 'peers'}")
    peer = cls(shared / "peers", threads=2)
    peer.decode_points = lambda outputs: None
    with pytest.raises(peers.PeerError, match="has no landmark output"):
        peer.detect_landmarks(real_photo())
