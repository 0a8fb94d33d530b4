"""Answers made of whole functions, read as blocks (rule `function_answer`).

The weakest models, asked for edits, often answer with the fixed function alone: a fenced block
holding `def fahrenheit_to_celsius(...)` and nothing that says where it goes. `function_blocks`
takes every fenced Python block that parses (a leading `>>> ` prompt echo dropped; of a block cut
off by the token limit, the definitions that are whole), and for each
function, method or class defined at its top level finds the one definition of that name among
the files the prompt showed; the block's SEARCH is that definition's exact source, its REPLACE the
new one at the old indentation. A name defined twice (two files, or a function and a method), or
nowhere, is left alone: a definition is never placed by a guess.
"""

from __future__ import annotations

import ast
import re
import textwrap
from typing import Iterable

from swe_monkeys.swebench.edit_blocks import EditBlock, ReadFile
from swe_monkeys.swebench.normalise import AST_LOCK

_FENCED = re.compile(r"^[ \t]*```[^\n`]*\n(.*?)(?:^[ \t]*(```)|\Z)", re.MULTILINE | re.DOTALL)  # or cut off
_TOP = re.compile(r"^(?:@|def |async def |class )")
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _parse(text: str) -> ast.Module:
    with AST_LOCK:  # CPython 3.11's ast is not thread-safe (see normalise)
        return ast.parse(text)


def _segments(text: str) -> list[str]:
    """Fenced blocks' bodies that parse as Python (prompt echoes dropped), dedented. A block that
    does not parse (an answer cut off by the token limit, a stray line between two functions)
    gives its top-level definitions that parse on their own; of a block with no closing fence the
    last definition is dropped (it may be cut short and still parse)."""
    out = []
    for match in _FENCED.finditer(text.replace("\r\n", "\n")):
        body = "\n".join(line for line in match.group(1).split("\n") if not line.lstrip().startswith(">>> "))
        body, closed = textwrap.dedent(body), match.group(2) is not None
        out += [body] if closed and _parses(body) else _whole_definitions(body, closed)
    return out


def _whole_definitions(body: str, closed: bool) -> list[str]:
    """The definitions of a block that parse on their own; of a class that does not (cut off in
    one of its methods), its methods that do. Without a closing fence the last is dropped."""
    chunks, out = _definitions_in(body), []
    for n, chunk in enumerate(chunks):
        last = n == len(chunks) - 1 and not closed
        if _parses(chunk) and not last:
            out.append(chunk)
        elif chunk.startswith("class "):
            inner = textwrap.dedent(chunk.split("\n", 1)[1] if "\n" in chunk else "")
            out += _whole_definitions(inner, closed=not last)
    return out


def _definitions_in(body: str) -> list[str]:
    """The body cut before each top-level `def`, `class` or decorator line, and before any other
    unindented line (prose, an import), which ends a definition."""
    chunks: list[list[str]] = [[]]
    for line in body.split("\n"):
        other = line[:1] not in ("", " ", "\t", ")", "]", "}") and not _TOP.match(line)
        if other or _TOP.match(line) and not (chunks[-1] and chunks[-1][-1].startswith("@")):
            chunks.append([])
        chunks[-1].append(line)
    return ["\n".join(c) + "\n" for c in chunks if c and _TOP.match(c[0])]


def _parses(text: str) -> bool:
    try:
        _parse(text)
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


def _source(lines: list[str], node: ast.AST) -> str:
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
    return "".join(lines[start:node.end_lineno])


def _definitions(path: str, text: str) -> list[tuple[str, str, str, str]]:
    """(name, path, source, indentation) of top-level functions/classes and of methods of a file."""
    try:
        tree = _parse(text)
    except (SyntaxError, ValueError):
        return []
    lines, out = text.splitlines(keepends=True), []
    for node in tree.body:
        if isinstance(node, _DEFS):
            out.append((node.name, path, _source(lines, node), ""))
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, _DEFS):
                    indent = lines[member.lineno - 1][:member.col_offset]
                    out.append((member.name, path, _source(lines, member), indent))
    return out


def function_blocks(text: str, read_file: ReadFile, files: Iterable[str]) -> list[EditBlock]:
    """One block per new definition whose name has exactly one definition among the shown files."""
    known: dict[str, list[tuple[str, str, str]]] = {}
    for path in files:
        content = read_file(path) if path.endswith(".py") else None
        for name, where, source, indent in _definitions(path, content or ""):
            known.setdefault(name, []).append((where, source, indent))
    blocks, seen = [], set()
    for body in _segments(text):
        lines = body.splitlines(keepends=True)
        for node in _parse(body).body:
            target = known.get(node.name) if isinstance(node, _DEFS) else None
            if not target or len(target) != 1 or node.name in seen:
                continue  # nowhere, or not one place: not placed by a guess
            path, old, indent = target[0]
            new = textwrap.indent(_source(lines, node), indent, lambda line: bool(line.strip()))
            new = new if new.endswith("\n") else new + "\n"
            blocks.append(EditBlock(path, old, new))  # unchanged: the outcome says "no_change"
            seen.add(node.name)
    return blocks

