"""Signing and verification of Clio and Xero webhook deliveries (pure functions)."""
