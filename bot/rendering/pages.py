"""HTML for the account-link pages: plain, accessible, self-contained (no scripts, no external assets).

Pure functions returning strings; every value is passed through `html.escape`. The only style is
the inline sheet below, allowed by the Content-Security-Policy through its hash.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from html import escape

STYLE = (
    "body{font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;background:#f4f5f7;"
    "color:#1d1c1d}"
    "main{max-width:28rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:8px;"
    "box-shadow:0 1px 3px rgba(0,0,0,.2)}"
    "h1{font-size:1.5rem;margin-top:0}"
    "label{display:block;font-weight:600;margin-top:1rem}"
    "input{box-sizing:border-box;width:100%;padding:.6rem;margin-top:.25rem;font-size:1rem;"
    "border:1px solid #6b6b6b;border-radius:4px}"
    "input:focus,button:focus{outline:3px solid #1264a3;outline-offset:2px}"
    ".confirm{display:flex;gap:.6rem;align-items:flex-start;margin-top:1.25rem;font-weight:400}"
    ".confirm input{width:auto;margin:.3rem 0 0}"
    ".subject{background:#eef4fb;border-left:4px solid #1264a3;padding:.6rem .8rem}"
    "button{margin-top:1.5rem;width:100%;padding:.7rem;font-size:1rem;font-weight:600;color:#fff;"
    "background:#007a5a;border:0;border-radius:4px;cursor:pointer}"
    ".error{background:#fdecea;border-left:4px solid #b3261e;padding:.6rem .8rem}"
    ".note{color:#4a4a4a;font-size:.9rem}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()

#: Nothing loads or runs but our own inline sheet; the form may only post back to us; no framing.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

PRODUCT = "ContainerStacks"
FORM_TITLE = "Link your Slack account"
FORM_SUBJECT = "You are linking Slack user {user} in workspace {workspace} to a ContainerStacks account."
FORM_INTRO = (
    "Sign in with your ContainerStacks email and password. That Slack user will then act as you, "
    "with your ContainerStacks organisations and roles. If someone sent you this page and it is not "
    "your Slack account, close it: signing in would hand them your access."
)
CONFIRM_LABEL = "Yes, let Slack user {user} in workspace {workspace} act as my ContainerStacks account."
FORM_NOTE = (
    "Your password is checked once and never stored by the Slack bot. "
    "This page stops working 15 minutes after the link was created."
)
SUCCESS_TITLE = "Account linked"
SUCCESS_MESSAGE = "You're linked as {name} ({email}). You can close this tab and return to Slack."
SUCCESS_SUBJECT = "Slack user {user} in workspace {workspace} now acts as this account."
JOINED_MESSAGE = "You also joined: {organizations}."


def render_page(title: str, body: str) -> str:
    """A whole document around already-escaped `body` HTML."""
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{escape(title)} · {PRODUCT}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n<h1>{escape(title)}</h1>\n{body}\n</main>\n</body>\n</html>\n"
    )


def paragraphs(*lines: str, role: str = "status") -> str:
    """Plain-text lines as paragraphs; the first is announced (`role`) to screen readers."""
    first, *rest = lines
    return "\n".join([f'<p role="{role}">{escape(first)}</p>', *(f"<p>{escape(line)}</p>" for line in rest)])


def render_link_form(*, slack_user: str, workspace: str, email: str, csrf_token: str, error: str | None = None) -> str:
    """The sign-in form naming the Slack user being linked, with a required confirmation; `error`
    (plain text) is announced to screen readers and tied to the fields."""
    described = ' aria-describedby="form-error" aria-invalid="true"' if error else ""
    names = {"user": slack_user, "workspace": workspace}
    parts = [f'<p class="subject">{escape(FORM_SUBJECT.format(**names))}</p>', f"<p>{escape(FORM_INTRO)}</p>"]
    if error:
        parts.append(f'<p class="error" id="form-error" role="alert">{escape(error)}</p>')
    parts.append(
        '<form method="post">\n'
        f'<input type="hidden" name="csrf" value="{escape(csrf_token)}">\n'
        '<label for="email">Email</label>\n'
        f'<input id="email" name="email" type="email" autocomplete="username" required maxlength="254" '
        f'value="{escape(email)}"{described}>\n'
        '<label for="password">Password</label>\n'
        f'<input id="password" name="password" type="password" autocomplete="current-password" required{described}>\n'
        '<label class="confirm" for="confirm"><input id="confirm" name="confirm" type="checkbox" value="yes" required>'
        f"{escape(CONFIRM_LABEL.format(**names))}</label>\n"
        '<button type="submit">Link account</button>\n'
        "</form>"
    )
    parts.append(f'<p class="note">{escape(FORM_NOTE)}</p>')
    return render_page(FORM_TITLE, "\n".join(parts))


def render_link_success(
    name: str, email: str, joined: Sequence[tuple[str, str]] = (), *, slack_user: str = "", workspace: str = ""
) -> str:
    """Shown after a link; `joined` lists (organisation, role) accepted from invites."""
    parts = [f'<p role="status">{escape(SUCCESS_MESSAGE.format(name=name, email=email))}</p>']
    if slack_user:
        parts.append(f"<p>{escape(SUCCESS_SUBJECT.format(user=slack_user, workspace=workspace))}</p>")
    if joined:
        organizations = ", ".join(f"{org} ({role})" for org, role in joined)
        parts.append(f"<p>{escape(JOINED_MESSAGE.format(organizations=organizations))}</p>")
    return render_page(SUCCESS_TITLE, "\n".join(parts))


def render_message(title: str, message: str) -> str:
    """A page that only explains something (expired link, refused form, lockout)."""
    return render_page(title, f'<p role="alert">{escape(message)}</p>')
