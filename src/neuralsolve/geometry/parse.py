"""Shape expressions such as ``"rectangle(0, 0, 2, 1) - disk(0.5, 0.5, 0.2)"``, read as data.

The text is parsed by Python's parser into a tree and the tree is walked here, node by node: only
the primitives below, numbers, names of constants, arithmetic on numbers, and the three
combinations are accepted. Nothing is ever evaluated as Python.

- ``rectangle(x0, y0, x1, y1)``, ``disk(cx, cy, r)``, ``ellipse(cx, cy, a, b)``,
  ``polygon([x, y], [x, y], [x, y], ...)``
- ``A + B`` (or ``A | B``): union; ``A - B``: difference; ``A & B``: intersection; parentheses group
- a name from ``shapes`` stands for that named shape; its boundary parts carry the name
"""

from __future__ import annotations

import ast
import math
import operator

from .._errors import ProblemError
from .primitives import Disk, Ellipse, Node, Polygon, Rectangle
from .shape import Shape

PRIMITIVES = {"rectangle": (Rectangle, 4), "disk": (Disk, 3), "ellipse": (Ellipse, 4), "polygon": (Polygon, None)}
COMBINE = {ast.Add: "__add__", ast.BitOr: "__add__", ast.Sub: "__sub__", ast.BitAnd: "__and__"}
ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
              ast.Pow: operator.pow}  # fmt: skip
MAX_LENGTH = 10_000


def parse_shape(text: str, constants: dict[str, float] | None = None, shapes: dict[str, str] | None = None) -> Shape:
    """The :class:`Shape` written in ``text``; ``constants`` name numbers (parameters; ``pi`` is
    known), ``shapes`` name primitives the text may use by name.

    Raises:
        ProblemError: with one line saying what in the text is not understood, or why the shape is
            not a shape (empty, a self-intersecting polygon, ...).
    """
    constants = {"pi": math.pi, "e": math.e, **(constants or {})}
    named = {}
    for name, definition in (shapes or {}).items():
        if not name.isidentifier() or name in PRIMITIVES or name in constants:
            raise ProblemError(f"shape name {name!r}: expected a new name (not a primitive or a constant)")
        try:
            node = _Reader(constants, {}).read(definition)
        except ProblemError as err:  # named, so that a problem file's error points at the definition
            raise ProblemError(f"shape {name!r}: {err}") from None
        if not hasattr(node, "named"):
            raise ProblemError(f"shape {name!r}: a named shape must be one primitive (rectangle, disk, ellipse "
                               f"or polygon), got a combination {definition!r}")  # fmt: skip
        named[name] = node.named(name)
    node = _Reader(constants, named).read(text)
    unused = set(named) - {p.name for p in node.primitives()}
    if unused:
        raise ProblemError(f"shape {sorted(unused)[0]!r} is defined but the domain's shape does not use it")
    shape = Shape(node, text)
    shape.definitions = dict(shapes or {})  # the named shapes, to write the problem back out
    return shape


class _Reader:
    def __init__(self, constants: dict, named: dict):
        self.constants, self.named = constants, named

    def read(self, text) -> Node:
        if not isinstance(text, str) or not text.strip():
            raise ProblemError(f"expected a shape expression such as 'rectangle(0, 0, 1, 1) - disk(0.5, 0.5, 0.2)', got {text!r}")
        if len(text) > MAX_LENGTH:
            raise ProblemError(f"the shape expression is {len(text)} characters long; at most {MAX_LENGTH}")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as err:
            raise ProblemError(f"the shape {text.strip()[:60]!r} cannot be read: {err.msg} at column {err.offset}") from None
        except (RecursionError, MemoryError, ValueError):
            raise ProblemError(f"the shape {text.strip()[:60]!r} cannot be read: nested too deeply") from None
        try:
            return self.shape(tree.body)
        except RecursionError:
            raise ProblemError(f"the shape {text.strip()[:60]!r} is nested too deeply") from None

    def shape(self, node) -> Node:
        if isinstance(node, ast.BinOp) and type(node.op) in COMBINE:
            return getattr(self.shape(node.left), COMBINE[type(node.op)])(self.shape(node.right))
        if isinstance(node, ast.Name):
            if node.id in self.named:
                return self.named[node.id]
            raise ProblemError(f"unknown shape {node.id!r}; expected {_primitive_list()} or a named shape"
                               + (f" ({', '.join(self.named)})" if self.named else ""))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in PRIMITIVES:
            return self.primitive(node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            raise ProblemError(f"unknown shape {node.func.id!r}; expected {_primitive_list()}")
        raise ProblemError(f"{_text(node)!r} is not a shape; expected {_primitive_list()}, combined with +, - or &")

    def primitive(self, node: ast.Call) -> Node:
        name = node.func.id
        cls, count = PRIMITIVES[name]
        if node.keywords:
            raise ProblemError(f"{name}(...): arguments are positional numbers, got {node.keywords[0].arg}=")
        if count is None:  # polygon: [x, y] pairs
            vertices = [self.pair(a, name) for a in node.args]
            return cls(vertices)
        if len(node.args) != count:
            raise ProblemError(f"{name}(...) takes {count} numbers ({_signature(name)}), got {len(node.args)}")
        return cls(*(self.number(a, name) for a in node.args))

    def pair(self, node, name: str) -> tuple[float, float]:
        if not isinstance(node, (ast.List, ast.Tuple)) or len(node.elts) != 2:
            raise ProblemError(f"{name}(...): each vertex is a pair [x, y], got {_text(node)!r}")
        return self.number(node.elts[0], name), self.number(node.elts[1], name)

    def number(self, node, name: str) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            value = float(node.value)
        elif isinstance(node, ast.Name) and node.id in self.constants:
            value = float(self.constants[node.id])
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.number(node.operand, name)
            value = -value if isinstance(node.op, ast.USub) else value
        elif isinstance(node, ast.BinOp) and type(node.op) in ARITHMETIC:
            try:
                value = ARITHMETIC[type(node.op)](self.number(node.left, name), self.number(node.right, name))
            except (ZeroDivisionError, OverflowError):
                raise ProblemError(f"{name}(...): {_text(node)!r} has no finite value") from None
        else:
            raise ProblemError(f"{name}(...): {_text(node)!r} is not a number or a known constant")
        if isinstance(value, complex) or not math.isfinite(value):
            raise ProblemError(f"{name}(...): {_text(node)!r} has no finite real value")
        return value


def _text(node) -> str:
    try:
        return ast.unparse(node)[:60]
    except Exception:  # an unparsable fragment: name its kind
        return type(node).__name__


def _signature(name: str) -> str:
    return {"rectangle": "x0, y0, x1, y1", "disk": "cx, cy, r", "ellipse": "cx, cy, a, b"}[name]


def _primitive_list() -> str:
    return "rectangle(x0, y0, x1, y1), disk(cx, cy, r), ellipse(cx, cy, a, b) or polygon([x, y], ...)"
