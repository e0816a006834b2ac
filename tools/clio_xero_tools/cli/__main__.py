"""``python -m clio_xero_tools.cli`` = ``clio-xero``."""

from clio_xero_tools.cli import main

main()
