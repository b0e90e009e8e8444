"""Seeding."""
import random

import numpy as np

__all__ = ["set_seed"]


def set_seed(seed):
    """Seed paddle, numpy and random."""
    import paddle

    paddle.seed(seed)
    np.random.seed(seed)
    random.seed(seed)
