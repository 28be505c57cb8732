"""``neuralsolve examples``: the bundled problem files, listed with their first sentence or copied out
with the data files they read."""

from __future__ import annotations

import pathlib
import re
import shutil
from importlib import resources

import click

EXAMPLES = "examples"  # the bundled problem files: package data of neuralsolve (src/neuralsolve/examples)


@click.command()
@click.argument("name", required=False)
@click.option("--to", "dest", type=click.Path(), default=".", help="folder (or file name) to copy the example to")
@click.option("--force", is_flag=True, help="replace a file of that name even if it differs from the example")
def examples(name: str | None, dest: str, force: bool) -> None:
    """List the bundled problem files, or copy example NAME out."""
    files = _bundled_examples()
    if name is None:
        width = min(shutil.get_terminal_size((100, 24)).columns, 100)
        column = max(20, *(len(stem) + 1 for stem in files))
        for stem, path in files.items():
            lines = _wrap(_first_comment(path.read_text()), width - column - 1) or [""]
            click.echo("\n".join([f"{stem:<{column}} {lines[0]}"] + [" " * (column + 1) + line for line in lines[1:]]))
        return
    from .._errors import ProblemError

    stem = name.removesuffix(".toml")
    if stem not in files:
        raise ProblemError(f"no bundled example {name!r}; available: {', '.join(files)}")
    target = pathlib.Path(dest)
    target = target / f"{stem}.toml" if target.is_dir() else target
    if not target.parent.is_dir():
        raise ProblemError(f"--to {dest}: folder {str(target.parent)!r} does not exist")
    text = files[stem].read_bytes()
    if target.exists() and not force:
        if target.is_file() and target.read_bytes() == text:
            click.echo(f"{target} is already the bundled example {stem!r}; left as it is")
            return
        raise ProblemError(f"{target} exists and differs from the example: copying would lose its contents; "
                           f"use --force to replace it, or --to another place")  # fmt: skip
    from ..spec.load import data_files_in

    # the data files it reads travel with it, beside it (checked first: nothing is half copied)
    copies = [(target, text)] + [(target.parent / n, (files[stem].parent / n).read_bytes())
                                 for n in data_files_in(text.decode())]  # fmt: skip
    for path, content in copies[1:]:
        if path.exists() and not force and not (path.is_file() and path.read_bytes() == content):
            raise ProblemError(f"{path} exists and differs from the example's data file; use --force to replace it, "
                               "or --to another folder")  # fmt: skip
    try:
        for path, content in copies:
            path.write_bytes(content)
    except OSError as err:  # a folder of that name, no permission, a full disk
        raise ProblemError(f"--to {dest}: cannot write {path}: {err.strerror or err}") from None
    click.echo(f"copied to {target}" + "".join(f" (with {p.name})" for p, _ in copies[1:]))


def _bundled_examples() -> dict:
    """The bundled problem files by name (``importlib.resources`` entries, in name order): package
    data, so an installed wheel has them as well as a checkout."""
    folder = resources.files("neuralsolve") / EXAMPLES
    entries = folder.iterdir() if folder.is_dir() else ()
    return {p.name.removesuffix(".toml"): p for p in sorted(entries, key=lambda p: p.name) if p.name.endswith(".toml")}



def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters (longer only for one unbreakable word),
    never broken inside brackets, so that ``u(x, 0)`` or ``[-1, 1]`` stays on one line."""
    words: list[str] = []
    depth = 0
    for word in text.split():
        if depth > 0:
            words[-1] += " " + word
        else:
            words.append(word)
        depth = max(depth + sum(word.count(c) for c in "([{") - sum(word.count(c) for c in ")]}"), 0)
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _first_comment(text: str) -> str:
    """The first sentence of a problem file's opening comment (its comment lines joined until one
    ends a sentence), or the whole comment if no sentence ends in it; "" without one."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    comment = " ".join(line for line in lines if line)
    end = re.search(r"[.!?](?=\s|$)", comment)  # not the point of "0.01" or of "docs/a.md"
    return comment[: end.end()] if end else comment
