"""``python -m clio_xero.cli`` = ``clio-xero``."""

from clio_xero.cli import main

main()
