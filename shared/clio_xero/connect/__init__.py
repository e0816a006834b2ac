"""Connecting a firm's Clio account and Xero organisation: signed links, OAuth, disconnect (issue 5)."""
