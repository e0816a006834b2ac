"""The settings and status page for the firm's administrator (``ConsoleFunction``, routes ``/console...``).

Server-rendered HTML (Jinja2, autoescaped), no JavaScript needed. Access is by a signed, short-lived,
single-use sign-in link (``clio-xero console``; the connect links' machinery) that opens a session
cookie; every form carries a CSRF token; every change is recorded with who and when. README
"Console" describes the model and its limits.
"""
