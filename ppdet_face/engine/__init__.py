"""Training glue: config loading, the trainer, the strict weight loader."""
from .config import ConfigError, load_config, parse_overrides, setup_device
from .trainer import FaceTrainer, NonFiniteLossError

__all__ = ["ConfigError", "load_config", "parse_overrides", "setup_device", "FaceTrainer", "NonFiniteLossError"]
