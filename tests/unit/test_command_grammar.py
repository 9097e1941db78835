"""The command table: longest-prefix matching, aliases, suggestions and generated help."""

from __future__ import annotations

import json

import pytest

from bot.commands import CommandSpec, CommandTable, tokenize
from bot.rendering.escape import escape_mrkdwn
from bot.rendering.help import HELP_POINTER, render_help, render_unknown_command
from handlers.commands import build_table

ORG = CommandSpec(("org",), "org", "Show the organisation.", "Organisations")
ORG_USE = CommandSpec(("org", "use"), "org use <slug>", "Switch organisation.", "Organisations")
HELP = CommandSpec(("help",), "help", "Help.", "General", aliases=(("?",),))


def _table() -> CommandTable[str]:
    table: CommandTable[str] = CommandTable()
    table.add(HELP, "help")
    table.add(ORG, "org")
    table.add(ORG_USE, "org-use")
    return table


def test_match_prefers_the_longest_slug_and_passes_the_rest_as_args() -> None:
    match = _table().match(["org", "use", "acme"])
    assert match is not None
    assert match.handler == "org-use"
    assert match.args == ("acme",)


def test_match_is_case_insensitive_and_accepts_aliases() -> None:
    table = _table()
    assert table.match(["ORG"]).handler == "org"  # type: ignore[union-attr]
    assert table.match(["?"]).handler == "help"  # type: ignore[union-attr]


def test_unknown_words_do_not_match() -> None:
    assert _table().match(["wallet"]) is None


def test_registering_a_slug_twice_is_refused() -> None:
    table = _table()
    with pytest.raises(ValueError, match="registered twice"):
        table.add(CommandSpec(("?",), "?", "dup", "General"), "x")


def test_suggest_finds_typos_in_the_first_word() -> None:
    suggestions = _table().suggest(["hepl"])
    assert suggestions and suggestions[0] is HELP


def test_suggest_returns_nothing_for_unrelated_input() -> None:
    assert _table().suggest(["zzzzzz"]) == []


def test_tokenize_groups_quoted_words_and_survives_unbalanced_quotes() -> None:
    assert tokenize('org create "Acme Corp"') == ["org", "create", "Acme Corp"]
    assert tokenize('org create "Acme') == ["org", "create", '"Acme']


def test_help_lists_every_command_of_the_real_table() -> None:
    table = build_table()
    rendered = json.dumps(render_help("/cs", table.groups()))
    for spec in table.specs:
        assert escape_mrkdwn(f"/cs {spec.usage}") in rendered  # as Slack shows it: `<slug>` stays text


def test_a_help_topic_is_a_command_word_or_a_group_and_names_nothing_else() -> None:
    table = build_table()
    words = {spec.words for specs in table.topic("servers").values() for spec in specs}
    assert words == {"vps", "vps plans", "vps create"}  # an alias names its whole family
    assert {s.words for specs in table.topic("tickets").values() for s in specs} >= {"ticket new", "ticket reply"}
    assert list(table.topic("account")) == ["Account"]  # a group name works too
    assert table.topic("nope") == {} and table.topic("admin", staff=False) == {}  # staff topics for staff only
    assert "admin" in table.topics() and "admin" not in table.topics(staff=False)
    narrowed = json.dumps(render_help("/cs", table.topic("org"), topic="org"))
    assert "org use" in narrowed and "wallet topup" not in narrowed


def test_unknown_command_answer_suggests_and_points_to_help() -> None:
    answer = render_unknown_command("/cs", "hepl", [HELP])
    assert "Did you mean `/cs help`?" in answer["text"]
    assert HELP_POINTER.format(command="/cs") in answer["text"]
    assert answer["response_type"] == "ephemeral"


@pytest.mark.parametrize("hostile", ["<!channel>", "<@U123>", "a & b", "*bold*", "```x```", "<https://evil|x>"])
def test_renderers_escape_user_text(hostile: str) -> None:
    answer = render_unknown_command("/cs", hostile, [])
    text = answer["text"]
    assert "<!channel>" not in text and "<@U123>" not in text and "<https://evil" not in text
    assert "&amp;" in text or "&" not in hostile
    assert "```" not in text
