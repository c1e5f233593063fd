"""``biascalc --help``: options listed in sections, and the examples below them.

The sections themselves (which option goes where) are ``HELP_SECTIONS`` in
:mod:`biascalc.cli`, next to the options; a test checks that every option is in one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

__all__ = ["EPILOG", "SectionedCommand", "option_names"]

EPILOG = """\b
Examples, one per task:
  biascalc labels.csv --target y                     # detect the task, print a table
  biascalc labels.parquet -t y --format json | python train.py
  biascalc data.csv -t is_fraud --weight w --loss bce          # binary, weighted rows
  biascalc data.csv -t species --class-weight balanced         # multiclass
  biascalc data.csv -t price --loss huber --huber-delta 5      # regression
  biascalc data.csv -t grade --task ordinal                    # ordinal (CORAL)
  biascalc train.bin --tokens uint16 --vocab-size 50257 -f pytorch   # a language model
  biascalc --prior 0.01 --format pytorch                       # no data: a known rate
  biascalc --input-format imagefolder train/                   # images per class folder
  biascalc --input-format masks masks/ --num-classes 21        # segmentation pixels
  cat labels.csv | biascalc - -t y
"""


def option_names(command: click.Command, ctx: click.Context) -> dict[str, click.Parameter]:
    """The command's options by parameter name; click's own help option is 'help'."""
    help_option = command.get_help_option(ctx)
    return {
        "help" if param is help_option else str(param.name): param
        for param in command.get_params(ctx)
        if isinstance(param, click.Option)
    }


class SectionedCommand(click.Command):
    """A command whose --help groups its options under titles: ``sections`` maps each
    title to the parameter names of its options, in order (options in none of them are
    listed last, under "Other options")."""

    def __init__(self, *args: Any, sections: Mapping[str, tuple[str, ...]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sections = sections

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows: dict[str, tuple[str, str]] = {}
        for name, param in option_names(self, ctx).items():
            record = param.get_help_record(ctx)
            if record is not None:
                rows[name] = record
        listed: set[str] = set()
        for title, names in self.sections.items():
            section = [rows[n] for n in names if n in rows]
            listed.update(names)
            if section:
                with formatter.section(title):
                    formatter.write_dl(section)
        rest = [record for name, record in rows.items() if name not in listed]
        if rest:
            with formatter.section("Other options"):
                formatter.write_dl(rest)
