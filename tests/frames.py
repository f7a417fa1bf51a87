"""Checks on in-memory frames go through the package's own helper (sentinel.frame)."""

from sentinel.frame import check_frame as run_check

__all__ = ["run_check"]
