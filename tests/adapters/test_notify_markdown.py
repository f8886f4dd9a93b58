"""A summary's Markdown as email HTML, Asana rich text and Slack mrkdwn: the constructs summaries
use, and client-written text that must stay text."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from delegator.notify.markdown import (
    Break,
    Emphasis,
    Link,
    Strong,
    Text,
    is_safe_url,
    parse_inline,
    to_asana_html,
    to_email_html,
    to_html,
)
from delegator.notify.slack import escape, message_text, to_mrkdwn

SUMMARY = """# Northwind, week of 1 December

Delegated **12** tasks, _3_ overdue.
See [the board](https://app.asana.com/0/1/list).

## By rule
- Invoices to Giulia: 5
  - [Pay invoice #2041](https://app.asana.com/0/0/1201/f) due 5 Dec
- Bookings: 7

1. Turn on the shadow rule
2. Check the token

> Would have delegated 4 tasks: turn the rule on?

```
raw <text> & more
```
---
"""


def well_formed(rich_text: str) -> ET.Element:
    """Asana refuses rich text that is not XML: parse our own output to prove it is."""
    return ET.fromstring(rich_text)  # noqa: S314 - our own output, not untrusted input


def test_inline_markup_becomes_nodes() -> None:
    assert parse_inline("a **b _c_** [d](https://x.example/y) e\\*f\ng") == (
        Text("a "),
        Strong((Text("b "), Emphasis((Text("c"),)))),
        Text(" "),
        Link((Text("d"),), "https://x.example/y"),
        Text(" e*f"),
        Break(),
        Text("g"),
    )


def test_snake_case_and_arithmetic_are_not_emphasis() -> None:
    assert parse_inline("snake_case_name and 5 * 3 * 2") == (Text("snake_case_name and 5 * 3 * 2"),)


def test_email_html_of_a_summary() -> None:
    assert to_html(SUMMARY) == (
        "<h1>Northwind, week of 1 December</h1>\n"
        "<p>Delegated <strong>12</strong> tasks, <em>3</em> overdue.<br>\n"
        'See <a href="https://app.asana.com/0/1/list">the board</a>.</p>\n'
        "<h2>By rule</h2>\n"
        "<ul>\n"
        "<li>Invoices to Giulia: 5<ul>\n"
        '<li><a href="https://app.asana.com/0/0/1201/f">Pay invoice #2041</a> due 5 Dec</li>\n'
        "</ul></li>\n"
        "<li>Bookings: 7</li>\n"
        "</ul>\n"
        "<ol>\n<li>Turn on the shadow rule</li>\n<li>Check the token</li>\n</ol>\n"
        "<blockquote>\n<p>Would have delegated 4 tasks: turn the rule on?</p>\n</blockquote>\n"
        "<pre><code>raw &lt;text&gt; &amp; more</code></pre>\n"
        "<hr>"
    )


def test_the_email_document_has_a_title_and_the_body() -> None:
    document = to_email_html("Hello **there**", "A <title>")

    assert "<title>A &lt;title&gt;</title>" in document
    assert "<p>Hello <strong>there</strong></p>" in document
    assert document.startswith("<!DOCTYPE html>")


def test_asana_rich_text_of_a_summary_is_well_formed_xml_with_asanas_tags() -> None:
    rich = to_asana_html(SUMMARY)

    assert rich == (
        "<body><h1>Northwind, week of 1 December</h1>"
        "Delegated <strong>12</strong> tasks, <em>3</em> overdue.\n"
        'See <a href="https://app.asana.com/0/1/list">the board</a>.\n'
        "<h2>By rule</h2>"
        "<ul><li>Invoices to Giulia: 5<ul>"
        '<li><a href="https://app.asana.com/0/0/1201/f">Pay invoice #2041</a> due 5 Dec</li>'
        "</ul></li><li>Bookings: 7</li></ul>"
        "<ol><li>Turn on the shadow rule</li><li>Check the token</li></ol>"
        "<blockquote>Would have delegated 4 tasks: turn the rule on?</blockquote>"
        "<pre>raw &lt;text&gt; &amp; more</pre><hr/></body>"
    )
    tags = {element.tag for element in well_formed(rich).iter()}
    allowed = {"body", "h1", "h2", "strong", "em", "code", "a", "ul", "ol", "li"}
    assert tags <= allowed | {"blockquote", "pre", "hr"}


def test_asana_has_two_heading_levels_the_rest_are_bold() -> None:
    assert to_asana_html("### Small\ntext") == "<body><strong>Small</strong>\ntext</body>"


def test_slack_mrkdwn_of_a_summary() -> None:
    assert to_mrkdwn(SUMMARY) == (
        "*Northwind, week of 1 December*\n"
        "Delegated *12* tasks, _3_ overdue.\n"
        "See <https://app.asana.com/0/1/list|the board>.\n\n"
        "*By rule*\n"
        "• Invoices to Giulia: 5\n"
        "    ◦ <https://app.asana.com/0/0/1201/f|Pay invoice #2041> due 5 Dec\n"
        "• Bookings: 7\n\n"
        "1. Turn on the shadow rule\n"
        "2. Check the token\n\n"
        "> Would have delegated 4 tasks: turn the rule on?\n\n"
        "```\nraw &lt;text&gt; &amp; more\n```\n\n"
        "――――――――――"
    )


def test_a_slack_message_opens_with_the_title_in_bold() -> None:
    assert message_text("Week <1>", "Done.") == "*Week &lt;1&gt;*\nDone."
    assert message_text("Empty week", "") == "*Empty week*"


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[click](javascript:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "<!channel> & <@U123>",
    ],
)
def test_client_written_text_stays_text(hostile: str) -> None:
    email = to_html(hostile)
    asana = to_asana_html(hostile)
    slack = to_mrkdwn(hostile)

    for rendered in (email, asana):
        assert "<script" not in rendered
        assert "<img" not in rendered
        assert 'href="javascript' not in rendered
        assert 'href="data' not in rendered
    well_formed(asana)
    assert "<!channel>" not in slack
    assert "<@U123>" not in slack
    assert "|click>" not in slack


def test_only_web_and_mail_links_are_links() -> None:
    assert is_safe_url("https://app.asana.com/0/0/1")
    assert is_safe_url("mailto:anna@northwind.example")
    assert not is_safe_url("javascript:alert(1)")
    assert not is_safe_url("https:///no-host")
    assert not is_safe_url("ftp://files.example/x")


def test_urls_with_parentheses_and_bare_urls() -> None:
    url = "https://en.wikipedia.org/wiki/Time_management_(Eisenhower)"

    assert to_html(f"[matrix]({url})") == f'<p><a href="{url}">matrix</a></p>'
    assert to_mrkdwn("see https://x.example/a?b=1&c=2.") == (
        "see <https://x.example/a?b=1&amp;c=2>."
    )


def test_slack_escapes_its_three_control_characters() -> None:
    assert escape("a < b & c > d") == "a &lt; b &amp; c &gt; d"


def test_a_list_item_written_on_two_lines_is_one_line() -> None:
    assert to_html("- Pay the invoice\n  by Friday\n- Book") == (
        "<ul>\n<li>Pay the invoice by Friday</li>\n<li>Book</li>\n</ul>"
    )
    assert to_mrkdwn("- Pay the invoice\n  by Friday") == "• Pay the invoice by Friday"


def test_raw_html_is_text_and_an_unsafe_link_keeps_only_its_label() -> None:
    assert to_html("<b>bold</b> & [x](javascript:alert(1))") == (
        "<p>&lt;b&gt;bold&lt;/b&gt; &amp; x</p>"
    )
    assert to_asana_html("[x](vbscript:msgbox)") == "<body>x</body>"


def test_autolinks_and_bare_links_are_web_and_mail_only() -> None:
    assert to_html("<https://a.example/x> mailto:anna@northwind.example ftp://f.example/x") == (
        '<p><a href="https://a.example/x">https://a.example/x</a> '
        '<a href="mailto:anna@northwind.example">mailto:anna@northwind.example</a> '
        "ftp://f.example/x</p>"
    )
    assert to_html("northwind.example and anna@northwind.example") == (
        "<p>northwind.example and anna@northwind.example</p>"
    )


def test_ordered_lists_keep_their_start_and_quotes_nest() -> None:
    assert to_html("3. third\n4. fourth") == (
        '<ol start="3">\n<li>third</li>\n<li>fourth</li>\n</ol>'
    )
    assert to_html("> outer\n>\n> > inner") == (
        "<blockquote>\n<p>outer</p>\n<blockquote>\n<p>inner</p>\n</blockquote>\n</blockquote>"
    )
    well_formed(to_asana_html("> outer\n>\n> > inner\n> - item"))


def test_escaped_markup_stays_literal() -> None:
    assert to_html("\\*not em\\* \\[not a link\\](x) 1\\. \\# \\~ \\|") == (
        "<p>*not em* [not a link](x) 1. # ~ |</p>"
    )
