"""Measurements from files (CSV or NPZ), shared by the method families that learn from data."""

from .files import read_columns

__all__ = ["read_columns"]
