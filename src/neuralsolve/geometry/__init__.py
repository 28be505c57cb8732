"""Plane shapes: primitives (rectangles, polygons, disks, ellipses), their unions, differences and
intersections, read from text safely; boundary pieces, sampling, parts, distance functions and
outlines for meshing."""

from .outline import Outline
from .parse import parse_shape
from .primitives import Disk, Ellipse, Node, Polygon, Rectangle
from .shape import Piece, Shape

__all__ = ["Disk", "Ellipse", "Node", "Outline", "Piece", "Polygon", "Rectangle", "Shape", "parse_shape"]
