"""User-entered Markdown on the pages: ordinary Markdown renders, anything active is neutralised."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template

from ratification.services import StepInput
from web.richtext import markdown_to_html


@pytest.mark.parametrize(
    ("source", "html"),
    [
        ("*emphasis* and **bold**", "<p><em>emphasis</em> and <strong>bold</strong></p>\n"),
        ("- fuel\n- food", "<ul>\n<li>fuel</li>\n<li>food</li>\n</ul>\n"),
        ("3. third", '<ol start="3">\n<li>third</li>\n</ol>\n'),
        ("`code`", "<p><code>code</code></p>\n"),
        (
            '[MOFA](https://www.mofa.go.jp/ "Ministry")',
            '<p><a href="https://www.mofa.go.jp/" title="Ministry" rel="nofollow noopener">'
            "MOFA</a></p>\n",
        ),
        (
            "[write](mailto:desk@example.org)",
            '<p><a href="mailto:desk@example.org" rel="nofollow noopener">write</a></p>\n',
        ),
    ],
)
def test_ordinary_markdown_renders(source, html):
    assert markdown_to_html(source) == html


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="https://example.org" onclick="alert(1)">x</a>',
        "<iframe src=https://example.org></iframe>",
        '<p style="position:fixed">x</p>',
        "<svg onload=alert(1)>",
    ],
)
def test_raw_html_is_shown_as_text_not_run(source):
    html = markdown_to_html(source)

    assert "<" not in html.removeprefix("<p>").removesuffix("</p>\n")
    assert html.startswith("<p>&lt;")


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "<javascript:alert(1)>",
    ],
)
def test_links_other_than_http_https_mailto_are_not_links(source):
    assert "<a" not in markdown_to_html(source)


def test_links_get_nofollow_noopener_and_keep_no_other_attribute():
    html = markdown_to_html("<https://example.org/a?b=1&c=2>")

    assert html == (
        '<p><a href="https://example.org/a?b=1&amp;c=2" rel="nofollow noopener">'
        "https://example.org/a?b=1&amp;c=2</a></p>\n"
    )


def test_headings_and_images_are_not_rendered():
    """A heading would break the page's outline; an image would load from a third party."""
    html = markdown_to_html("# Title\n\n![chart](https://example.org/c.png)")

    assert "<h1" not in html and "<img" not in html
    assert "# Title" in html


def test_empty_text_renders_nothing():
    assert markdown_to_html("") == ""


def test_the_template_filter_marks_the_result_safe_and_sanitised():
    template = Template("{% load pages %}{{ text|markdown }}")

    html = template.render(Context({"text": "**a** <b>b</b>"}))

    assert html == "<p><strong>a</strong> &lt;b&gt;b&lt;/b&gt;</p>\n"


@pytest.mark.django_db
def test_agreement_page_renders_summary_provision_and_step_note_as_markdown(client, make_agreement):
    from agreements.services import ProvisionInput

    agreement = make_agreement(
        slug="md",
        summary="Covers **fuel**. <script>alert(1)</script>",
        provisions=[ProvisionInput(category="logistics_support", text="- food\n- fuel")],
        signed_on=dt.date(2025, 1, 10),
        steps={"JP": [StepInput(kind="signature", note="[text](https://example.org/t)")]},
    )

    html = client.get(agreement.get_absolute_url()).content.decode()

    assert "Covers <strong>fuel</strong>. &lt;script&gt;" in html
    assert "<li>food</li>" in html
    assert '<a href="https://example.org/t" rel="nofollow noopener">text</a>' in html
    assert "<script>alert" not in html


@pytest.mark.parametrize(
    "source",
    [
        "The Parties shall cooperate in peacekeeping operations, including logistics support.",
        "It's (a) test? Yes! a/b c-d; see: Article 7.",
        "See https://example.org/x.",
        "Two  spaces inside.",
        "Ab",
    ],
)
def test_a_plain_line_renders_as_the_parser_and_sanitiser_would(source, monkeypatch):
    """A line with no Markdown syntax skips the parser and sanitiser (web.richtext._PLAIN_LINE);
    what it renders must not differ from the full path's result."""
    import re

    from web import richtext

    fast = markdown_to_html(source)
    assert fast == f"<p>{source}</p>\n"
    monkeypatch.setattr(richtext, "_PLAIN_LINE", re.compile(r"(?!)"))  # matches nothing
    assert markdown_to_html(source) == fast


@pytest.mark.parametrize(
    "source", ["1. first", "Line one\nline two", "Trailing space ", "A & B", "a <b>", "x * y"]
)
def test_text_with_anything_markdown_reads_takes_the_full_path(source):
    from web import richtext

    assert not richtext._PLAIN_LINE.match(source)
