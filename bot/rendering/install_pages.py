"""HTML for the end of an "Add to Slack" install: installed, cancelled, expired link, or failed.

Plain text through `render_page` (escaped, no scripts); never a token, code or state value.
"""

from __future__ import annotations

from html import escape

from bot.rendering.pages import paragraphs, render_page

INSTALLED_TITLE = "ContainerStacks is installed"
INSTALLED = "ContainerStacks was added to {workspace}. Go back to Slack and type {command} to start."
INSTALLED_NEXT = "Each person links their ContainerStacks account once, with {command} link."
CANCELLED_TITLE = "Nothing was installed"
CANCELLED = "The install was cancelled in Slack, so ContainerStacks was not added to any workspace."
EXPIRED_TITLE = "This install link has expired"
EXPIRED = "Install links work once and for ten minutes. Nothing was installed."
FAILED_TITLE = "The install did not finish"
FAILED = "Slack did not confirm the install, so nothing was installed."


def render_installed(*, workspace: str, command: str) -> str:
    lines = [INSTALLED.format(workspace=workspace, command=command), INSTALLED_NEXT.format(command=command)]
    return render_page(INSTALLED_TITLE, paragraphs(*lines))


def render_not_installed(reason: str, *, install_url: str) -> str:
    """`reason` is Bolt's: `access_denied` when the person cancelled, `invalid_state` for a spent or
    stale link, anything else a failed exchange."""
    if reason == "access_denied":
        title, line = CANCELLED_TITLE, CANCELLED
    elif reason in {"invalid_state", "invalid_browser"}:
        title, line = EXPIRED_TITLE, EXPIRED
    else:
        title, line = FAILED_TITLE, FAILED
    retry = f'<p>To try again, open <a href="{escape(install_url)}">{escape(install_url)}</a>.</p>'
    return render_page(title, paragraphs(line) + "\n" + retry)
