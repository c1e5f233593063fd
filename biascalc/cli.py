"""The ``biascalc`` command: options -> one library call -> a renderer.

Nothing numeric happens here.  Library errors are mapped to exit codes in one place,
:func:`_run`: DataError -> 1, OptionError -> 2.  Heavy modules (numpy, pyarrow) are
imported only when a computation runs, so ``biascalc --help`` stays instant.
"""

from __future__ import annotations

import csv
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import click

from ._version import __version__

TASK_CHOICES = ("auto", "regression", "binary", "multiclass", "multilabel")
LOSS_CHOICES = (
    "auto",
    "mse",
    "mae",
    "huber",
    "quantile",
    "poisson",
    "gamma",
    "tweedie",
    "bce",
    "cross_entropy",
)
FORMAT_CHOICES = ("table", "json", "python", "pytorch", "keras", "jax", "numpy")
INPUT_FORMATS = ("csv", "tsv", "parquet", "jsonl", "arrow")
# Options that belong to one loss: (option name, parameter, the loss it needs).
LOSS_PARAMETERS = (
    ("--huber-delta", "huber_delta", "huber"),
    ("--quantile", "quantile", "quantile"),
    ("--tweedie-power", "tweedie_power", "tweedie"),
)


class OptionFailure(click.ClickException):
    """A usage error shown as one line (click's UsageError adds the usage text)."""

    exit_code = 2


def _split_labels(value: str | None) -> tuple[str, ...] | None:
    """``a,b,"c,d"`` -> ('a', 'b', 'c,d'): CSV quoting lets labels hold commas."""
    if value is None:
        return None
    return tuple(next(csv.reader([value], skipinitialspace=True), []))


EPILOG = """\b
Examples:
  biascalc labels.csv --target y
  biascalc labels.parquet -t y --format json | python train.py
  biascalc data.csv -t is_fraud --weight w --loss bce
  biascalc data.csv -t price --loss huber --huber-delta 5
  cat labels.csv | biascalc - -t y
"""


@click.command(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EPILOG,
)
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option(
    "-t",
    "--target",
    "targets",
    multiple=True,
    metavar="COL",
    help="Label column (repeat for several). May be omitted when the file has one column.",
)
@click.option("-w", "--weight", metavar="COL", help="Column of sample weights.")
@click.option(
    "--task",
    type=click.Choice(TASK_CHOICES),
    default="auto",
    show_default=True,
    help="The task; 'auto' detects it from the labels and says why.",
)
@click.option(
    "--loss",
    type=click.Choice(LOSS_CHOICES),
    default="auto",
    show_default=True,
    help="Loss the network is trained with (auto: mse, bce or cross_entropy by task).",
)
@click.option(
    "--huber-delta", type=float, default=1.0, show_default=True, help="Delta of --loss huber."
)
@click.option(
    "--quantile", type=float, default=0.5, show_default=True, help="Level q of --loss quantile."
)
@click.option(
    "--tweedie-power",
    type=float,
    default=1.5,
    show_default=True,
    help="Power p >= 1 of --loss tweedie.",
)
@click.option(
    "--classes",
    metavar="A,B,...",
    help="All classes, in output order (may add classes absent from the data).",
)
@click.option(
    "--positive", metavar="LABEL", help="The positive class of a binary task (default: the last)."
)
@click.option(
    "--center", is_flag=True, help="Subtract the mean from softmax biases (symmetric form)."
)
@click.option(
    "--eps",
    type=float,
    default=1e-7,
    show_default=True,
    help="Probabilities of 0 or 1 are clipped into [eps, 1-eps].",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(FORMAT_CHOICES),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Write the result to FILE (atomically) instead of stdout.",
)
@click.option(
    "--layer",
    default="layer",
    show_default=True,
    metavar="NAME",
    help="--format pytorch: the module whose .bias is set (dotted names allowed).",
)
@click.option(
    "--input-format",
    type=click.Choice(INPUT_FORMATS),
    help="Input format (default: from the extension; stdin is CSV).",
)
@click.option("--delimiter", metavar="CHAR", help="CSV field delimiter (default: sniffed).")
@click.option("--encoding", metavar="NAME", help="Text encoding of CSV input (default: utf-8).")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.version_option(__version__, "-V", "--version", prog_name="biascalc")
@click.pass_context
def cli(ctx: click.Context, /, paths: tuple[str, ...], targets: tuple[str, ...], **kw: Any) -> None:
    """Compute the output-layer bias that makes a network start at the data's prior.

    Reads the label column(s) of PATH (CSV, TSV, Parquet, JSON Lines, Arrow; gzip, bz2
    or zstd compressed; '-' or nothing for stdin), detects the task, and prints the bias
    that minimises the loss over a constant prediction, with the loss to expect at step 0.
    """
    debug = kw.pop("debug")
    _run(lambda: _compute(ctx, paths, targets, **kw), debug)


def _run(action: Callable[[], None], debug: bool) -> None:
    """Call ``action``, mapping library errors to one-line messages and exit codes."""
    from .errors import DataError, OptionError

    try:
        action()
    except OptionError as exc:
        if debug:
            traceback.print_exc()
        raise OptionFailure(str(exc)) from None
    except DataError as exc:
        if debug:
            traceback.print_exc()
        raise click.ClickException(str(exc)) from None
    except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
        raise
    except MemoryError:
        raise click.ClickException("out of memory; see the README on large inputs") from None
    except OSError as exc:
        if debug:
            traceback.print_exc()
        raise click.ClickException(
            f"{exc.strerror or exc}" + (f": '{exc.filename}'" if exc.filename else "")
        ) from None
    except Exception as exc:
        if debug:
            raise
        raise click.ClickException(
            f"unexpected {type(exc).__name__}: {exc}; this is a bug in biascalc, please report it "
            "(run again with --debug for the traceback)"
        ) from None


def _compute(ctx: click.Context, paths: Sequence[str], targets: Sequence[str], **kw: Any) -> None:
    from .output import check_output_path

    for option, param, loss in LOSS_PARAMETERS:
        if (
            ctx.get_parameter_source(param) is not click.core.ParameterSource.DEFAULT
            and kw["loss"] != loss
        ):
            raise OptionFailure(f"{option} applies to --loss {loss} only")
    output = kw.pop("output")
    fmt = kw.pop("fmt")
    layer = kw.pop("layer")
    if (
        ctx.get_parameter_source("layer") is not click.core.ParameterSource.DEFAULT
        and fmt != "pytorch"
    ):
        raise OptionFailure("--layer applies to --format pytorch only")
    if not _is_dotted_name(layer):
        raise OptionFailure(f"--layer must be a Python name such as model.head, not {layer!r}")
    if output is not None:
        check_output_path(output, paths)
    elif fmt == "numpy" and sys.stdout.isatty():
        raise OptionFailure(
            "--format numpy writes binary .npy data; give -o FILE or redirect stdout"
        )
    from .api import compute_bias_from_file
    from .render import render

    result = compute_bias_from_file(
        list(paths) or ["-"],
        list(targets) or None,
        weight=kw.pop("weight"),
        input_format=kw.pop("input_format"),
        delimiter=kw.pop("delimiter"),
        encoding=kw.pop("encoding"),
        classes=_split_labels(kw.pop("classes")),
        **kw,
    )
    _emit(render(result, fmt, unicode=_can_encode("\u2588\u2014"), layer=layer), output)


def _is_dotted_name(name: str) -> bool:
    import keyword

    return all(part.isidentifier() and not keyword.iskeyword(part) for part in name.split("."))


def _can_encode(text: str) -> bool:
    try:
        text.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _emit(data: str | bytes, output: str | None) -> None:
    if output is None:
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            click.echo(data, nl=False)
        return
    from .output import write_atomic

    write_atomic(output, data if isinstance(data, bytes) else data.encode("utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code (callable from tests)."""
    try:
        cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="biascalc",
            standalone_mode=False,
        )
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo("Aborted.", err=True)
        return 130
    except BrokenPipeError:
        # The reader of our stdout went away (biascalc ... | head): not an error of ours.
        sys.stderr.close()
        return 0
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
