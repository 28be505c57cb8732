"""Errors in problem files: one line naming the file, the key (and line, where known) and the cause.

Keys are written as in the file, dotted, with the position of an entry of an array counted from 1
in file order: ``conditions[1]`` is the first ``[[conditions]]`` table, ``solver.phases[2]`` the
second phase, ``equations[1]`` the first equation. Messages from the Python API count the same
way ("condition 1", "equation 1"), so both name the same entry.
"""

from __future__ import annotations

import re

from .._errors import ProblemError


class SpecError(ProblemError):
    """A problem file that cannot be read as a problem."""

    def __init__(self, path: str, key: str | None, cause: str, line: int | None = None):
        key, cause = (_one_line(key) if key is not None else None), _one_line(cause)
        self.path, self.key, self.cause, self.line = str(path), key, cause, line
        where = self.path + (f":{line}" if line else "")
        super().__init__(f"{where}: {key}: {cause}" if key else f"{where}: {cause}")


def _one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped (keys and values quoted
    from a file may hold any character), so that the message stays one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def line_of(text: str, key: str) -> int | None:
    """Best-effort line number of ``key`` (dotted, with [i] counted from 1) in TOML ``text``.

    tomllib reports positions only for syntax errors, so for a semantic error the line is found
    by locating the key's table header and then the key within that table. A key inside an inline
    table has no line of its own: the line of the nearest enclosing key that has one is given.
    """
    while key:
        line = _line(text, key)
        if line is not None:
            return line
        parent = re.sub(r"(\.[^.\[\]]*|\[\d+\])$", "", key)  # the enclosing key
        if parent == key:
            return None
        key = parent
    return None


def _line(text: str, key: str) -> int | None:
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", key)
    lines = text.splitlines()
    if not parts or parts[0].startswith("["):
        return None
    # an index right after the first name picks one of its [[array]] tables
    index = int(parts[1][1:-1]) - 1 if len(parts) > 1 and parts[1].startswith("[") else None
    names = [p for p in parts if not p.startswith("[")]
    if len(names) == len(parts) > 1:  # no index: the key may be a dotted table [a.b] or a key in one
        found = _in_dotted_table(lines, names)
        if found is not None:
            return found
    start, end = 0, _next_header(lines, 0)
    headers = [i for i, ln in enumerate(lines)
               if re.match(rf"\s*\[\[?\s*{re.escape(names[0])}\s*\]\]?\s*(#.*)?$", ln)]  # fmt: skip
    if headers:
        if index is not None:
            if not 0 <= index < len(headers):
                return None
            start = headers[index]
        else:
            start = headers[0]
        if len(names) == 1:
            return start + 1
        end, names = _next_header(lines, start + 1), names[1:]
    elif len(names) > 1:  # a dotted table header such as [solver.network]
        dotted = [i for i, ln in enumerate(lines)
                  if re.match(rf"\s*\[\s*{re.escape('.'.join(names[:-1]))}\s*\]\s*(#.*)?$", ln)]  # fmt: skip
        if not dotted:
            return None
        start, end, names = dotted[0], _next_header(lines, dotted[0] + 1), names[-1:]
    if len(names) != 1:
        return None
    for i in range(start, end):
        if re.match(rf"\s*{re.escape(names[0])}\s*=", lines[i]):
            return i + 1
    return None


def _in_dotted_table(lines: list[str], names: list[str]) -> int | None:
    """The line of the table ``[a.b]`` named by ``names``, or of the key ``names[-1]`` in the
    table ``[a.b]`` named by the others (``[solver.ode]`` beside ``[solver]``); None if neither."""
    header = lambda parts: next((i for i, ln in enumerate(lines)
                                 if re.match(rf"\s*\[\s*{re.escape('.'.join(parts))}\s*\]\s*(#.*)?$", ln)), None)  # fmt: skip
    start = header(names)
    if start is not None:
        return start + 1
    start = header(names[:-1]) if len(names) > 2 else None
    if start is None:
        return None
    end = _next_header(lines, start + 1)
    return next((i + 1 for i in range(start + 1, end) if re.match(rf"\s*{re.escape(names[-1])}\s*=", lines[i])), None)


def _next_header(lines: list[str], start: int) -> int:
    return next((i for i in range(start, len(lines)) if re.match(r"\s*\[", lines[i])), len(lines))
