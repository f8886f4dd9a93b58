"""The redaction's one-scan shortcut: text that no pattern matches is returned as it is, and any
other text is redacted exactly as pattern by pattern."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from delegator import redact
from delegator.redact import REDACTED, redact_text


def one_by_one(text: str) -> str:
    """The redaction without the shortcut: the oracle."""
    exact = redact.SECRETS.pattern()
    if exact is not None:
        text = exact.sub(REDACTED, text)
    for pattern, replacement in redact._PATTERNS:
        text = pattern.sub(replacement, text)
    return redact._URL.sub(lambda m: redact._SECRET_SEGMENT.sub(REDACTED, m.group(0)), text)


# Pieces of what the patterns look for, near misses included, glued by ordinary text.
PIECES = st.sampled_from([
    "Authorization: ", "authorization=", "Bearer ", "bearer", "0/", "1/1234567:", "2/123456/",
    "0123456789abcdef0123456789abcdef", "https://", "https://hooks.example.com/", "http://u:",
    "@host", "password=",
    "token=", "&sig=", "hooks.slack.com/services/", "discord.com/api/webhooks/",
    "/services/T1234/B5678/", "abcDEF123456789012345678901234567890", "/", "?", "#", " ",
    "'", '"', ":", "=", "Invoice 42 for ACME", "ÄÖ ü", "\n",
])  # fmt: skip


@settings(max_examples=1000)
@given(st.lists(PIECES | st.text(max_size=12), max_size=12) | st.lists(PIECES, max_size=6))
def test_the_shortcut_redacts_exactly_as_the_patterns_one_by_one(parts: list[str]) -> None:
    text = "".join(parts)
    assert redact_text(text) == one_by_one(text)


def test_plain_text_comes_back_as_it_is() -> None:
    text = "Hi Giulia: please pay invoice 42 for ACME by Friday"
    assert redact_text(text) is text
