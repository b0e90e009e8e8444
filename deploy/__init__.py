"""Deployment code; ``deploy.python`` is the standalone Python predictor (no ppdet / ppdet_face)."""
