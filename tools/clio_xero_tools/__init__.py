"""clio-xero tooling: the operator CLI, the Docker-free local runtime, the Clio and Xero sandboxes
and the demo. None of it runs in Lambda: the functions import only ``clio_xero`` (``shared/``),
and ``tests/unit/test_packaging.py`` proves the runtime never imports this package."""
