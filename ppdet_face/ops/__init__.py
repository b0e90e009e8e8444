"""CPU training speed-ups: a custom depthwise conv2d operator and an allocator setting.

See :mod:`ppdet_face.ops.depthwise_conv` and :mod:`ppdet_face.ops.allocator`.
"""
from .allocator import keep_freed_memory
from .depthwise_conv import depthwise_conv2d, get_num_threads, is_available, is_supported, set_num_threads

__all__ = ["depthwise_conv2d", "is_available", "is_supported", "set_num_threads", "get_num_threads",
           "keep_freed_memory"]
