"""Training/eval engine glue: config loading and the trainer."""
from .config import ConfigError, load_config, parse_overrides, setup_device
from .trainer import FaceTrainer, NonFiniteLossError, WiderFaceAPMetric, detections_to_wider

__all__ = ["ConfigError", "load_config", "parse_overrides", "setup_device", "FaceTrainer", "NonFiniteLossError", "WiderFaceAPMetric",
           "detections_to_wider"]
