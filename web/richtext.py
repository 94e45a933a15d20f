"""User-entered text (agreement summaries, provision text, step notes) as safe HTML.

Two layers, so that a bug in one is not enough for script to reach a page:

1. markdown-it-py renders CommonMark with raw HTML switched off (a `<script>` typed into a note
   comes out as the text `<script>`), and without headings (they would break the page's outline:
   a summary sits under the page's own h1 and h2) or images (every image would be a request to a
   third party, which the Content Security Policy refuses anyway).
2. nh3 (the Rust `ammonia` sanitiser) cleans the result against an explicit allow-list of tags
   and attributes, keeps only http, https and mailto links, and gives every link
   rel="nofollow noopener".

The API, the feeds and the emails keep the source text: this is presentation only.
"""

from __future__ import annotations

import re
from functools import lru_cache

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr"}
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener"


# One line of prose, starting with a letter, with nothing CommonMark reads as syntax (no * _ ` [ <
# & \\ # and no leading digit that could open a list) and nothing to escape: it renders as itself
# in a paragraph. Most summaries and provision texts are such lines, and a page of a fifty-party
# agreement has dozens of them, so they skip the parser and the sanitiser (test_richtext checks
# that both paths agree).
_PLAIN_LINE = re.compile(r"[A-Za-z][A-Za-z0-9 ,.;:'()?!/-]*[A-Za-z0-9.,;:'()?!/-]\Z")


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # "html": False escapes raw HTML instead of passing it through; the sanitiser below would
    # strip it too, but escaped text shows the editor what they typed.
    return MarkdownIt("commonmark", {"html": False}).disable(["heading", "lheading", "image"])


def markdown_to_html(source: str) -> SafeString:
    """Render `source` as CommonMark and sanitise it; the result is safe to put in a page."""
    if not source:
        return SafeString("")
    if _PLAIN_LINE.match(source):
        return mark_safe(f"<p>{source}</p>\n")  # noqa: S308  # nosec B308 B703  # no markup
    rendered = _parser().render(source)
    cleaned = nh3.clean(
        rendered,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )
    return mark_safe(cleaned)  # noqa: S308  # nosec B308 B703  # sanitised by nh3 just above
