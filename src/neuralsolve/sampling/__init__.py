"""Collocation point sampling."""

from .unit import METHODS as METHODS
from .unit import unit_points as unit_points
