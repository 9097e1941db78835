"""`csbot sandbox --script`: the whole sandbox as a real subprocess, replaying examples/tour.txt.

The sandbox starts its own embedded PostgreSQL under a temporary CSBOT_DATA_DIR, the Slack, PayPal
and Linode emulators and the real bot; the transcript is what a person would have seen. DATABASE_URL
points at a server that does not exist, to show the sandbox never uses it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOUR = ROOT / "examples" / "tour.txt"
UNREACHABLE_DATABASE = "postgresql://nobody@127.0.0.1:9/not_a_database"


def sandbox(data_dir: Path, script: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CSBOT_DATA_DIR": str(data_dir), "DATABASE_URL": UNREACHABLE_DATABASE}
    env.pop("TEST_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "sandbox", "--script", str(script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )


def section(transcript: str, typed: str) -> str:
    """What appeared after the line ``typed`` (echoed with its prompt) up to the next prompt."""
    marker = f"> {typed}\n"
    assert marker in transcript, f"{typed!r} was not played:\n{transcript}"
    after = transcript.split(marker, 1)[1]
    return after.split("\n\n", 1)[0]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandbox-data")


@pytest.fixture(scope="module")
def tour(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return sandbox(data_dir, TOUR)


def test_tour_plays_and_every_expectation_holds(tour: subprocess.CompletedProcess[str], data_dir: Path) -> None:
    out = tour.stdout
    assert tour.returncode == 0, out + tour.stderr
    assert "DATABASE_URL is set, but the sandbox always uses its own embedded server" in out
    assert f"embedded PostgreSQL in {data_dir.resolve() / 'sandbox' / 'postgres'}" in out
    assert "alice  alice@demo.containerstacks.test" in out and "password alice-demo-1" in out
    assert "✗" not in out
    assert "Script finished; every expectation held." in out
    assert (data_dir / "sandbox" / "paypal-emulator-ca.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")


def test_tour_links_creates_an_organisation_and_tops_up(tour: subprocess.CompletedProcess[str]) -> None:
    out = tour.stdout
    assert "[1] Link my account → http://127.0.0.1:" in section(out, "/cs whoami")
    linked = section(out, ":link")
    assert "(browser) HTTP 200:" in linked
    assert "Account linked" in linked
    assert "This Slack account is now linked to Alice Owner (alice@demo.containerstacks.test)" in linked

    modal = section(out, "/cs org create Tour Company")
    assert "╔ New organisation ╗" in modal and "1. Organisation name: Tour Company" in modal
    created = section(out, ":submit")
    assert "Your organisation Tour Company" in created and "is ready" in created
    assert "(the modal closed)" in created

    assert "Top up Tour Company by $25.00 via PayPal?" in section(out, "/cs wallet topup 25")
    assert "Pay $25.00 with PayPal" in section(out, ":click 1")
    paid = section(out, ":pay approve")
    assert "/paypal/return — HTTP 200:" in paid
    assert "New balance: $25.00." in paid
    assert "Your top-up of $25.00 to Tour Company is complete." in paid
    assert "• Balance: $25.00 (USD)" in section(out, "/cs wallet")


def test_the_tour_plays_again_in_the_same_data_dir(tour: subprocess.CompletedProcess[str], data_dir: Path) -> None:
    """A script plays in a fresh world each time: nobody is still linked, no form id is reused."""
    assert tour.returncode == 0
    again = sandbox(data_dir, TOUR)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Script finished; every expectation held." in again.stdout
    assert "[1] Link my account" in section(again.stdout, "/cs whoami")


def test_a_failed_expectation_fails_the_run(
    tour: subprocess.CompletedProcess[str], data_dir: Path, tmp_path: Path
) -> None:
    assert tour.returncode == 0
    script = tmp_path / "fails.txt"
    script.write_text(
        "# a fresh world: Acme has not installed the app and alice is not linked, although the tour did both\n"
        ":install\n:expect ContainerStacks is installed\n"
        "/cs whoami\n:expect Link my account\n/cs link\n:link\n:expect Account linked\n"
        "# the buyer approves at PayPal but never returns: the signed webhook completes the top-up\n"
        "/cs wallet topup 5\n:click 1\n:pay webhook\n:expect HTTP [200]\n:expect Your top-up of $5.00\n"
        ":expect something that is not there\n:nonsense\n"
    )
    again = sandbox(data_dir, script)
    assert again.returncode == 1, again.stdout + again.stderr
    assert "✓ expected: Link my account" in again.stdout
    assert "✓ expected: Your top-up of $5.00" in again.stdout
    assert "✗ EXPECTATION FAILED: the previous output does not contain 'something that is not there'" in again.stdout
    assert "! unknown console command :nonsense (see :help)" in again.stdout
    assert "1 expectation(s) failed." in again.stdout


def console(data_dir: Path, typed: str) -> str:
    """The interactive console (not a script) with `typed` on its standard input; returns what it showed."""
    env = {**os.environ, "CSBOT_DATA_DIR": str(data_dir)}
    env.pop("TEST_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "sandbox"], cwd=ROOT, env=env, input=typed + ":quit\n",
        capture_output=True, text=True, timeout=100, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_console_is_one_world_across_commands_and_restarts(tmp_path: Path) -> None:
    """`:clock` moves the time `/cs billing` reads, and after a restart the servers the database keeps
    are back at Linode (not "running", then "no longer exists") at the sandbox time reached before."""
    first = console(
        tmp_path,
        ":install\n/cs link\n:link\n/cs org use acme-demo\n/cs vps create\n:fill 1 keep-me\n:fill 2 Nanode\n"
        ":fill 3 us-east\n:fill 4 Debian 12\n:submit\n:wait 3\n:clock +2h\n/cs billing\n",
    )
    assert "keep-me — :large_green_circle: running" in first
    assert "charged 2 h" in section(first, ":clock +2h")
    assert "• keep-me: $0.02 (3 h)" in section(first, "/cs billing")  # hours 0, 1 and 2, by sandbox time

    second = console(tmp_path, ":wait 3\n/cs vps\n/cs billing\n:channel staff-alerts\n")
    assert "1 server(s) from the database are back in the Linode emulator" in second
    assert "installation with this app is no longer available" not in second  # Acme's install came back too
    assert "clock     sandbox time is " in second
    assert "keep-me · :large_green_circle: running" in section(second, "/cs vps")
    assert "• keep-me: $0.02 (3 h)" in section(second, "/cs billing")
    assert "no longer exists" not in second and "gone at Linode" not in second
