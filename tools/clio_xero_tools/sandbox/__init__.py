"""Local stand-ins for the Clio Manage v4 and Xero Accounting APIs.

Each sandbox is a WSGI application over an in-memory store. Use it in-process through
:func:`clio_xero_tools.sandbox._base.wsgi_transport` (an ``httpx`` transport, no sockets) or serve it on
127.0.0.1 with :func:`clio_xero_tools.sandbox._base.serve`. Everything under ``/_sandbox/`` is the admin
surface (seed data, act as a user, move the clock, inject faults, read the request log) and is not
part of either real API.
"""
