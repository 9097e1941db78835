"""The panel's books as documents: what an invoice says and the HTML file customers are given."""
