"""Sentinel: a data-quality sentinel with operational correction agents."""

__version__ = "0.1.0"
