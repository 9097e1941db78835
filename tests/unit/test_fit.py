"""The one place payloads are made to fit Slack: escape first, then measure, cut and split."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.rendering.escape import Mrkdwn, escape_mrkdwn
from bot.rendering.fit import (
    SECTION_TEXT,
    cap_blocks,
    cap_lines,
    clip,
    clip_user_text,
    line_sections,
    plain_version,
    section,
    split_text,
)

ATOMS = ["&amp;", "&lt;", "&gt;", "<@U0123ABCD>", "<https://example.com/a|a link>"]


def test_clip_escapes_before_measuring() -> None:
    clipped = clip_user_text("&" * 2000, 3000)
    assert len(clipped) <= 3000 and clipped.endswith("…")
    assert clipped[:-1].replace("&amp;", "") == ""  # whole entities only


def test_clip_never_cuts_inside_an_entity_or_token() -> None:
    for atom in ATOMS:
        text = "x" * 10 + atom * 30
        for limit in range(11, len(text)):
            cut = clip(text, limit)
            assert len(cut) <= limit
            assert cut[:-1].replace(atom, "").strip("x") == "", (atom, limit, cut)


def test_clip_keeps_text_that_fits_and_its_type() -> None:
    assert clip("short", 10) == "short"
    assert isinstance(clip(Mrkdwn("a" * 20), 10), Mrkdwn)


@given(st.text(alphabet=st.sampled_from(list("ab &<>\n")), max_size=9000), st.integers(min_value=20, max_value=3000))
def test_split_text_keeps_every_word_and_respects_the_limit(raw: str, limit: int) -> None:
    escaped = escape_mrkdwn(raw)
    pieces = split_text(escaped, limit)
    assert all(len(piece) <= limit for piece in pieces)
    assert "".join(pieces).replace("\n", "").replace(" ", "") == escaped.replace("\n", "").replace(" ", "")
    for piece in pieces:  # no piece starts or ends inside an entity
        assert not any(piece.endswith(p) for p in ("&", "&a", "&am", "&l", "&lt", "&g", "&gt"))


def test_split_text_of_a_token_longer_than_the_limit_still_ends() -> None:
    assert all(len(p) <= 20 for p in split_text("<https://example.com/" + "a" * 100 + "|x>", 20))


def test_line_sections_keep_lines_whole_and_fit() -> None:
    lines = [f"• line {i} " + "w" * 90 for i in range(200)]
    blocks = line_sections(lines)
    assert all(len(b["text"]["text"]) <= SECTION_TEXT for b in blocks)
    assert "\n".join(b["text"]["text"] for b in blocks) == "\n".join(lines)


def test_cap_blocks_says_how_many_more_and_how_to_see_them() -> None:
    blocks = [section(str(i)) for i in range(60)]
    capped = cap_blocks(blocks, 50, how="`/cs vps page 2`")
    assert len(capped) == 50
    assert capped[-1]["elements"][0]["text"] == "…and 11 more — `/cs vps page 2`"
    assert cap_blocks(blocks[:5], 50) == blocks[:5]


def test_cap_lines() -> None:
    assert cap_lines(["a", "b", "c"], 2, how="see `x`") == ["a", "…and 2 more — see `x`"]


def test_plain_version_keeps_the_words_and_where_it_goes() -> None:
    payload = {
        "channel": "C1",
        "thread_ts": "1.2",
        "text": "Fallback",
        "blocks": [section("Fallback"), {"type": "context", "elements": [{"type": "mrkdwn", "text": "small"}]}],
    }
    plain = plain_version(payload)
    assert plain == {"channel": "C1", "thread_ts": "1.2", "text": "Fallback\nsmall"}
    assert len(plain_version({"text": "x" * 50000})["text"]) <= 40000
