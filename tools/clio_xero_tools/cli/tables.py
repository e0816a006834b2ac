"""Printing tables that stay readable when the output is not a terminal.

Rich lays a table out for the terminal's width and, with no terminal (a pipe, a log file, CI),
assumes 80 columns: long cells then wrap mid-word. Piped or logged, a table is printed as wide as
its content needs instead (each row on one line), so ``grep`` and log readers see whole values.
``--json`` output never goes through here.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

MAX_PLAIN_WIDTH = 1000  # a sanity bound: one very long provider message does not make a 1 MB line


def print_table(console: Console, table: Table) -> None:
    if console.is_terminal:
        console.print(table)
        return
    for column in table.columns:
        column.overflow = "ignore"
        column.no_wrap = True
    natural = console.measure(table, options=console.options.update_width(MAX_PLAIN_WIDTH)).maximum
    saved = console._width  # rich clamps print(width=...) to the console's width: widen it for this table
    console.width = max(natural, 20)
    try:
        console.print(table, crop=False)
    finally:
        console._width = saved
