"""The checks `csbot doctor` runs, grouped by what they talk to; `bot.doctor` lists and runs them.

Each check is one small async function of a `Context` that returns its finding(s): pass, warn,
fail or skip, with a one-line fix for anything that is not a pass. Checks talk to the real
services (Slack, PayPal, Linode, the database, PUBLIC_URL), so the tests run them against the
emulators.
"""
