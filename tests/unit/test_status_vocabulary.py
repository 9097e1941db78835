"""One status vocabulary and one emoji set: a server's or a ticket's status reads the same in the list,
on its card and in the App Home."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from bot.db.home import ServerRow as HomeServer
from bot.db.home import TicketRow as HomeTicket
from bot.db.tickets import TicketRow
from bot.rendering import home, tickets, vps
from bot.services.home import ServerSummary, TicketSummary
from bot.services.tickets import TicketList
from bot.services.vps import ServerList, ServerView
from tests.unit.test_rendering_escapes import build


def made(kind: type, **changes: Any) -> Any:
    return dataclasses.replace(build(kind, kind.__name__.lower(), "vocabulary"), **changes)


def test_a_server_status_reads_the_same_in_the_list_the_card_and_the_home() -> None:
    server = made(ServerView, status="shutting_down")
    listing = made(ServerList, servers=[server])
    home_servers = ServerSummary([made(HomeServer, status="shutting_down")], 1)
    said = ":hourglass_flowing_sand: shutting down"
    assert said in json.dumps(vps.render_server_list(listing, "/cs"))
    assert said in json.dumps(vps.render_server(server, can_manage=True))
    assert said in json.dumps(home.render_servers(home_servers, "/cs"))


def test_a_ticket_status_reads_the_same_in_the_list_the_card_and_the_home() -> None:
    ticket = made(TicketRow, status="in_progress")
    home_tickets = TicketSummary([made(HomeTicket, status="in_progress")], 1)
    said = ":hammer_and_wrench: In progress"
    assert said in json.dumps(tickets.render_list(made(TicketList, tickets=[ticket]), "/cs"))
    assert said in json.dumps(tickets.render_card(ticket))
    assert said in json.dumps(tickets.render_requester_root(ticket, link_url=None))
    assert said in json.dumps(home.render_tickets(home_tickets, "/cs"))
