"""Errors in problem files: one line naming the file, the key (and line, where known) and the cause."""

from __future__ import annotations

import re

from .._errors import ProblemError


class SpecError(ProblemError):
    """A problem file that cannot be read as a problem."""

    def __init__(self, path: str, key: str | None, cause: str, line: int | None = None):
        self.path, self.key, self.cause, self.line = str(path), key, cause, line
        where = self.path + (f":{line}" if line else "")
        super().__init__(f"{where}: {key}: {cause}" if key else f"{where}: {cause}")


def line_of(text: str, key: str) -> int | None:
    """Best-effort line number of ``key`` (dotted, with [i] for array tables) in TOML ``text``.

    tomllib reports positions only for syntax errors, so for a semantic error the line is found
    by locating the key's table header and then the key within it.
    """
    parts = re.findall(r"[A-Za-z_][A-Za-z0-9_]*|\[\d+\]", key)
    lines = text.splitlines()
    start, tables = 0, [p for p in parts if not p.startswith("[")]
    if len(tables) > 1 or any(p.startswith("[") for p in parts):
        table, index = tables[0], next((int(p[1:-1]) for p in parts if p.startswith("[")), None)
        headers = [i for i, ln in enumerate(lines)
                   if re.match(rf"\s*\[\[?\s*{re.escape(table)}\s*\]\]?\s*(#.*)?$", ln)]  # fmt: skip
        if headers:
            start = headers[index] if index is not None and index < len(headers) else headers[0]
            if len(tables) == 1:
                return start + 1
    name = tables[-1] if tables else None
    for i in range(start, len(lines)):
        if name and re.match(rf"\s*{re.escape(name)}\s*=", lines[i]):
            return i + 1
    return None
