"""CPU training speed-up: a custom depthwise conv2d operator.

See :mod:`ppdet_face.ops.depthwise_conv`. The allocator setting of training is a memory setting, not an
operator: :func:`ppdet_face.utils.memory.keep_freed_memory`.
"""
from .depthwise_conv import depthwise_conv2d, get_num_threads, is_available, is_supported, set_num_threads

__all__ = ["depthwise_conv2d", "is_available", "is_supported", "set_num_threads", "get_num_threads"]
