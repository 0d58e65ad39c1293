"""The Markdown report read back as blocks a template can render (feedback pages).

Only what :mod:`grader.grade.reports` writes is understood: headings (``#``–``###``),
bullet items (``- ``, with indented continuation lines), paragraphs, ``**bold**``, code
spans fenced by any number of backticks, and backslash escapes.  The result is plain data
(no HTML): the page's jinja2 template escapes every piece of text it prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Inline = tuple[str, str]  # ("text" | "bold" | "code" | "break", the text)


@dataclass
class Block:
    kind: str  # "heading", "paragraph" or "list"
    level: int = 0  # a heading's level
    parts: list[Inline] = field(default_factory=list)  # a heading's or a paragraph's text
    items: list[list[Inline]] = field(default_factory=list)  # a list's items


def blocks(markdown: str) -> list[Block]:
    out: list[Block] = []
    paragraph: list[str] = []

    def close() -> None:
        if paragraph:
            parts: list[Inline] = []
            for piece in " ".join(paragraph).split(" \n "):
                parts += ([("break", "")] if parts else []) + inline(piece.strip())
            out.append(Block("paragraph", parts=parts))
            paragraph.clear()

    for raw in markdown.splitlines():
        line = raw.rstrip()
        if not line.strip():
            close()
            continue
        hashes = len(line) - len(line.lstrip("#"))
        if 1 <= hashes <= 6 and line[hashes : hashes + 1] == " ":
            close()
            out.append(Block("heading", level=hashes, parts=inline(line[hashes + 1 :])))
        elif line.startswith("- "):
            close()
            if not out or out[-1].kind != "list":
                out.append(Block("list"))
            out[-1].items.append(inline(line[2:]))
        elif line.startswith("  ") and out and out[-1].kind == "list" and not paragraph:
            out[-1].items[-1] += [("text", " ")] + inline(line.strip())
        else:
            paragraph.append(line.strip())
            if raw.endswith("  "):  # Markdown's hard line break
                paragraph.append("\n")
    close()
    return out


def inline(text: str) -> list[Inline]:
    """Text, bold and code pieces; the backslash escapes of plain text undone."""
    parts: list[Inline] = []
    bold = False
    buf: list[str] = []

    def flush() -> None:
        if buf:
            parts.append(("bold" if bold else "text", "".join(buf)))
            buf.clear()

    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            buf.append(text[i + 1])
            i += 2
        elif ch == "`":
            run = len(text[i:]) - len(text[i:].lstrip("`"))
            fence = "`" * run
            end = text.find(fence, i + run)
            if end < 0:  # no closing fence: the backticks are text
                buf.append(fence)
                i += run
                continue
            flush()
            body = text[i + run : end]
            if len(body) > 1 and body.startswith(" ") and body.endswith(" "):
                body = body[1:-1]
            parts.append(("code", body))
            i = end + run
        elif text.startswith("**", i):
            flush()
            bold = not bold
            i += 2
        else:
            buf.append(ch)
            i += 1
    flush()
    return parts
