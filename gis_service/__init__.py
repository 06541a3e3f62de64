"""Sanitation coverage and scale-up planning for Indonesian districts."""

__version__ = "0.1.0"
