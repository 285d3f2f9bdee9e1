"""MkDocs hooks for the site: links in the repository's Markdown that point outside docs/
(written to be read on the repository's pages) are pointed at the site's own copies, or
shown as a path when the site has no page for them; Sphinx roles in docstrings
(``:func:`x```) are shown as plain code."""

from __future__ import annotations

import posixpath
import re

SITE_PAGES = {"protocols/README.md": "protocols/README.md",
              "notebooks/README.md": "notebooks/README.md",
              "CHANGELOG.md": "changelog.md"}  # fmt: skip
"""Repository paths (from its top) that the site has a page for, and the page."""

LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s#]+)(#[^)\s]*)?\)")
ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|exc|obj|py:[a-z]+):(?=<code>)")


def _repository_path(page_path: str, target: str) -> str | None:
    """The repository path a relative link of the page ``docs/page_path`` points to."""
    if "://" in target or target.startswith(("mailto:", "/")):
        return None
    return posixpath.normpath(posixpath.join("docs", posixpath.dirname(page_path), target))


def on_page_markdown(markdown: str, page, config, files) -> str:
    here = page.file.src_uri
    if here.startswith(("protocols/", "notebooks/")):
        return markdown  # copies of the package's READMEs: their links stay inside

    def fix(match: re.Match) -> str:
        text, target, anchor = match.group(1), match.group(2), match.group(3) or ""
        path = _repository_path(here, target)
        if path is None or path.startswith("docs/"):
            return match.group(0)
        if path in SITE_PAGES:
            relative = posixpath.relpath(SITE_PAGES[path], posixpath.dirname(here) or ".")
            return f"[{text}]({relative}{anchor})"
        return f"{text} (`{path}` in the repository)"

    return LINK.sub(fix, markdown)


def on_page_content(html: str, page, config, files) -> str:
    return ROLE.sub("", html)
