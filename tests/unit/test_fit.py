"""The one place payloads are made to fit Slack: escape first, then measure, cut and split."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.rendering.escape import Mrkdwn, escape_mrkdwn
from bot.rendering.fit import (
    MESSAGE_BLOCKS_TEXT,
    SECTION_TEXT,
    blocks_text,
    cap_blocks,
    cap_lines,
    capped_sections,
    clip,
    clip_user_text,
    line_sections,
    lines_message,
    pack_posts,
    plain_version,
    plain_view,
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


def test_capped_sections_keep_every_line_that_fits_and_count_the_rest() -> None:
    lines = [f"• line {i} " + "w" * 90 for i in range(500)]
    blocks = capped_sections(lines, max_blocks=5, how="`/cs org list`")
    assert len(blocks) == 5
    text = "\n".join(b["text"]["text"] for b in blocks)
    shown = text.count("• line ")
    assert text.endswith(f"…and {500 - shown} more — `/cs org list`")
    assert blocks[-1]["text"]["text"].count("\n") >= 1  # the closing line shares the last section: nothing wasted
    assert capped_sections(lines[:3], max_blocks=5) == line_sections(lines[:3])


def test_capped_sections_respect_a_text_budget() -> None:
    lines = ["x" * 100 for _ in range(300)]
    blocks = capped_sections(lines, max_blocks=50, budget=5000)
    assert blocks_text(blocks) <= 5000 and "more" in blocks[-1]["text"]["text"]


def test_pack_posts_splits_in_order_within_the_budget() -> None:
    blocks = [section(str(i) * 3000) for i in range(10)]
    posts = pack_posts(blocks, budget=10_000)
    assert [len(p) for p in posts] == [3, 3, 3, 1]
    assert [b for p in posts for b in p] == blocks
    assert all(blocks_text(p) <= 10_000 for p in posts)


def test_plain_view_keeps_the_words_without_elements() -> None:
    view = {
        "type": "home",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Servers & <more>"}},
            section("a" * 5000),
            {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "x" * 99}}]},
        ],
    }
    plain = plain_view(view)
    assert plain["type"] == "home"
    assert plain["blocks"][0]["text"]["text"] == "*Servers &amp; &lt;more&gt;*"
    assert all(b["type"] == "section" and len(b["text"]["text"]) <= SECTION_TEXT for b in plain["blocks"])
    assert "".join(b["text"]["text"] for b in plain["blocks"][1:]) == "a" * 5000


def test_lines_message_fits_one_posted_message() -> None:
    message = lines_message("\n".join("y" * 2000 for _ in range(20)), context="ContainerStacks billing")
    assert blocks_text(message["blocks"]) <= MESSAGE_BLOCKS_TEXT
    assert message["blocks"][-1]["type"] == "context"
    assert "…and" in message["blocks"][-2]["text"]["text"]
    assert len(message["text"]) == 40_000 and message["text"].endswith("…")  # the fallback is clipped too
