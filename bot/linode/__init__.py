"""Linode API v4 through linode-api4, kept off the event loop (see ``gateway``)."""
