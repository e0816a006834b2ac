"""Webhook intake: verify → normalise → archive → enqueue, then answer the provider.

Receivers stay small on purpose: they import no API clients, OAuth or idempotency code, so their
cold start stays close to a bare boto3 client (see docs/benchmarks.md).
"""
