"""The invoice as the HTML document customers download, with what the panel's document shows.

Same content and order as the panel's invoice (company, "INVOICE" and its number, invoice date,
status, organisation id, title, description, the items with quantity, unit price and amount,
subtotal, tax when there is any, the total with its currency, the status badge and the footer),
numbers printed as the panel prints them (`$` then two decimals, so a debit reads `$-0.05`), dates
in its US long form. Our own markup and styles. Unlike the panel's, every text from the ledger is
HTML-escaped: a transaction description can never inject markup into the file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from html import escape

from bot.books.invoice import COMPANY, STATUS, TITLE, Invoice

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0; }
main { max-width: 820px; margin: 0 auto; padding: 36px; }
header { display: flex; justify-content: space-between; border-bottom: 2px solid #1d3557; padding-bottom: 16px; }
header h1 { margin: 0; color: #1d3557; font-size: 26px; }
header .kind { margin: 0; color: #1d3557; font-size: 30px; text-align: right; }
header .number { margin: 4px 0 0; font-weight: 600; text-align: right; }
dl.meta { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; background: #f4f6f8; padding: 16px; }
dl.meta dt { font-size: 11px; text-transform: uppercase; color: #666; }
dl.meta dd { margin: 0; }
table { width: 100%; border-collapse: collapse; margin: 24px 0; }
th, td { padding: 10px; border-bottom: 1px solid #ddd; text-align: left; }
th.num, td.num { text-align: right; } th.qty, td.qty { text-align: center; }
.totals { margin-left: auto; width: 300px; }
.totals p { display: flex; justify-content: space-between; margin: 0; padding: 8px 0; border-bottom: 1px solid #ddd; }
.totals p.total { font-weight: 700; color: #1d3557; border-bottom: 2px solid #1d3557; }
.badge { display: inline-block; padding: 4px 10px; background: #e3edf7; color: #1d3557; font-weight: 600; }
footer { margin-top: 36px; color: #777; font-size: 12px; text-align: center; }
"""


def money(value: Decimal) -> str:
    """JavaScript's `$${n.toFixed(2)}`: the sign, if any, after the dollar sign."""
    return f"${value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}"


def long_date(moment: datetime) -> str:
    """`toLocaleDateString('en-US', {year: 'numeric', month: 'long', day: 'numeric'})` in UTC."""
    utc = moment.astimezone(UTC)
    return f"{utc:%B} {utc.day}, {utc.year}"


def long_date_time(moment: datetime) -> str:
    """The same with `hour: '2-digit', minute: '2-digit'`: `October 27, 2025 at 02:05 PM`."""
    utc = moment.astimezone(UTC)
    return f"{long_date(utc)} at {utc:%I:%M %p}"


def render(invoice: Invoice, generated_at: datetime) -> str:
    rows = "\n".join(
        f'<tr><td>{escape(item.description)}</td><td class="qty">{item.quantity}</td>'
        f'<td class="num">{money(item.unit_price)}</td><td class="num">{money(item.amount)}</td></tr>'
        for item in invoice.items
    )
    tax = f"<p><span>Tax:</span><span>{money(invoice.tax)}</span></p>" if invoice.tax > 0 else ""
    number = escape(invoice.number)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Invoice {number}</title>
<style>{_STYLE}</style>
</head>
<body>
<main>
<header>
<div><h1>{COMPANY}</h1><p>Billing &amp; Payments</p></div>
<div><p class="kind">INVOICE</p><p class="number">{number}</p></div>
</header>
<dl class="meta">
<div><dt>Invoice Date</dt><dd>{long_date(invoice.created_at)}</dd></div>
<div><dt>Invoice Status</dt><dd>{STATUS.capitalize()}</dd></div>
<div><dt>Organization ID</dt><dd><code>{invoice.organization_id}</code></dd></div>
</dl>
<h2>{TITLE}</h2>
<p>{escape(invoice.description)}</p>
<table>
<thead><tr><th>Description</th><th class="qty">Quantity</th><th class="num">Unit Price</th>
<th class="num">Amount</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<section class="totals">
<p><span>Subtotal:</span><span>{money(invoice.subtotal)}</span></p>
{tax}
<p class="total"><span>Total:</span><span>{escape(invoice.currency)} {money(invoice.total)}</span></p>
</section>
<p style="text-align: right"><span class="badge">{STATUS.upper()}</span></p>
<footer>
<p>Thank you for your business with {COMPANY}</p>
<p>This is an automated invoice. Please retain this document for your records.</p>
<p>Generated on {long_date_time(generated_at)} UTC</p>
</footer>
</main>
</body>
</html>
"""
