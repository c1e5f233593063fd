"""The ``biascalc`` command: options -> one library call -> a renderer.

Nothing numeric happens here.  Library errors are mapped to exit codes in one place,
:func:`_run`: DataError -> 1, OptionError -> 2.  Heavy modules (numpy, pyarrow) are
imported only when a computation runs, so ``biascalc --help`` stays instant.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import click

from ._version import __version__

TASK_CHOICES = ("auto", "regression", "binary", "multiclass", "multilabel", "ordinal", "tokens")
LOSS_CHOICES = (
    "auto",
    "mse",
    "mae",
    "huber",
    "quantile",
    "poisson",
    "gamma",
    "tweedie",
    "gaussian_nll",
    "laplace_nll",
    "bce",
    "cross_entropy",
    "focal",
    "ordinal_bce",
    "corn",
)
ACTIVATION_CHOICES = ("identity", "exp", "softplus", "sigmoid")
VARIANCE_ACTIVATION_CHOICES = ("exp", "softplus")
FORMAT_CHOICES = ("table", "json", "python", "pytorch", "keras", "jax", "numpy")
INPUT_FORMATS = ("csv", "tsv", "parquet", "jsonl", "arrow", "imagefolder", "masks")
#: Input formats that are image data sets (biascalc.images), not tables of labels.
IMAGE_FORMATS = ("imagefolder", "masks")
TOKEN_DTYPES = ("uint16", "uint32", "int32", "int64")
#: -o FILE without --format: the format its extension names.
OUTPUT_EXTENSIONS = {".json": "json", ".npy": "numpy", ".py": "python"}
# Options that belong to one loss: (option name, parameter, the loss it needs).
LOSS_PARAMETERS = (
    ("--huber-delta", "huber_delta", "huber"),
    ("--quantile", "quantile", "quantile"),
    ("--tweedie-power", "tweedie_power", "tweedie"),
    ("--focal-gamma", "focal_gamma", "focal"),
    ("--focal-alpha", "focal_alpha", "focal"),
)


class _PipeClosed(Exception):
    """Standard output was closed by its reader (``biascalc ... | head``)."""


class OptionFailure(click.ClickException):
    """A usage error shown as one line (click's UsageError adds the usage text)."""

    exit_code = 2


def _split_labels(value: str | None) -> tuple[str, ...] | None:
    """``a,b,"c,d"`` -> ('a', 'b', 'c,d'): CSV quoting lets labels hold commas."""
    if value is None:
        return None
    return tuple(next(csv.reader([value], skipinitialspace=True), []))


def _numbers(option: str, value: str | None) -> tuple[float, ...] | None:
    """``0.5,0.3,0.2`` -> (0.5, 0.3, 0.2)."""
    if value is None:
        return None
    try:
        return tuple(float(v) for v in value.split(","))
    except ValueError:
        raise OptionFailure(f"{option} takes numbers separated by commas, not {value!r}") from None


def _pairs(
    option: str, value: str | None, number: Callable[[str], float]
) -> dict[str, float] | None:
    """``a=2,b=1`` -> {'a': 2.0, 'b': 1.0}; labels may be CSV-quoted (``"x=y"=2``)."""
    if value is None:
        return None
    out: dict[str, float] = {}
    for item in _split_labels(value) or ():
        label, sep, amount = item.rpartition("=")
        try:
            if not sep or not label:
                raise ValueError
            out[label] = number(amount)
        except ValueError:
            raise OptionFailure(
                f"{option} takes LABEL=NUMBER pairs separated by commas, not {item!r}"
            ) from None
    return out


def _class_weight(value: str | None) -> str | dict[str, float] | None:
    if value is None or value == "balanced" or value.startswith("effective:"):
        return value
    return _pairs("--class-weight", value, float)


def _output_range(value: str | None) -> tuple[float, float] | None:
    """``0,5`` -> (0.0, 5.0)."""
    numbers = _numbers("--output-range", value)
    if numbers is not None and len(numbers) != 2:
        raise OptionFailure(f"--output-range takes LO,HI (two numbers), not {value!r}")
    return None if numbers is None else (numbers[0], numbers[1])


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

#: --help lists the options in these sections, in this order (a test checks that every
#: option is in one).  New options join the section a newcomer would look in.
HELP_SECTIONS: dict[str, tuple[str, ...]] = {
    "Input": (
        "input_format",
        "delimiter",
        "encoding",
        "where",
        "tokens",
        "no_header",
        "decimal",
        "thousands",
    ),
    "Labels and task": (
        "targets",
        "weight",
        "task",
        "classes",
        "positive",
        "ignore_index",
        "num_classes",
        "vocab_size",
        "label_sep",
    ),
    "Loss": (
        "loss",
        "huber_delta",
        "quantile",
        "tweedie_power",
        "focal_gamma",
        "focal_alpha",
        "activation",
        "output_range",
        "variance_activation",
    ),
    "Training setup": (
        "pos_weight",
        "class_weight",
        "label_smoothing",
        "center",
        "eps",
        "logit_adjustment",
        "sampler",
        "smoothing",
    ),
    "Without data": ("prior", "counts", "from_stats", "save_stats"),
    "Output": ("fmt", "output", "layer", "explain"),
    "Engine and diagnostics": ("engine", "scheduler", "no_progress", "debug", "version", "help"),
}


def option_names(command: click.Command, ctx: click.Context) -> dict[str, click.Parameter]:
    """The command's options by parameter name; click's own help option is 'help'."""
    help_option = command.get_help_option(ctx)
    return {
        "help" if param is help_option else str(param.name): param
        for param in command.get_params(ctx)
        if isinstance(param, click.Option)
    }


class SectionedCommand(click.Command):
    """A command whose --help groups its options under the titles of HELP_SECTIONS."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows: dict[str, tuple[str, str]] = {}
        for name, param in option_names(self, ctx).items():
            record = param.get_help_record(ctx)
            if record is not None:
                rows[name] = record
        listed: set[str] = set()
        for title, names in HELP_SECTIONS.items():
            section = [rows[n] for n in names if n in rows]
            listed.update(names)
            if section:
                with formatter.section(title):
                    formatter.write_dl(section)
        rest = [record for name, record in rows.items() if name not in listed]
        if rest:
            with formatter.section("Other options"):
                formatter.write_dl(rest)


@click.command(
    cls=SectionedCommand,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EPILOG,
)
@click.argument("paths", nargs=-1, metavar="[PATH]...", type=click.Path(readable=False))
@click.option(
    "-t",
    "--target",
    "targets",
    multiple=True,
    metavar="COL",
    help="Label column (repeat for several; 'tag_*' selects every matching column). May be "
    "omitted when the file has one column.",
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
    help="Loss the network is trained with (auto: by task: mse, bce, cross_entropy, ordinal_bce).",
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
    "--focal-gamma", type=float, default=2.0, show_default=True, help="Gamma of --loss focal."
)
@click.option(
    "--focal-alpha",
    type=float,
    default=0.25,
    show_default=True,
    help="Alpha of --loss focal (negative: no alpha weighting).",
)
@click.option(
    "--activation",
    type=click.Choice(ACTIVATION_CHOICES),
    help="Regression (mse, mae, huber, quantile): the function behind the output "
    "(default identity; exp is the link of poisson, gamma, tweedie).",
)
@click.option(
    "--output-range",
    metavar="LO,HI",
    help="--activation sigmoid: the output is LO + (HI - LO) sigmoid(x) (fastai SigmoidRange).",
)
@click.option(
    "--variance-activation",
    type=click.Choice(VARIANCE_ACTIVATION_CHOICES),
    help="gaussian_nll, laplace_nll: variance (scale) = exp (default) or softplus of its output.",
)
@click.option(
    "--logit-adjustment",
    type=float,
    metavar="TAU",
    help="bce, cross_entropy: the loss sees logits + TAU log(prior) (Menon et al. 2021; "
    "1 = balanced softmax).",
)
@click.option(
    "--sampler",
    metavar="balanced|sqrt|power:Q",
    help="Binary, multiclass: training draws class k with probability n_k^Q (balanced: Q=0, "
    "sqrt: Q=0.5).",
)
@click.option(
    "--pos-weight",
    metavar="W[,W...]",
    help="bce: PyTorch pos_weight (one number, or one per label for multilabel).",
)
@click.option(
    "--class-weight",
    metavar="balanced|effective:BETA|LABEL=W,...",
    help="Class weights of the loss (PyTorch weight=; 'balanced' is n / (K n_k); "
    "effective:BETA is Cui et al. 2019).",
)
@click.option(
    "--label-smoothing",
    type=float,
    default=0.0,
    show_default=True,
    help="Label smoothing of the loss (PyTorch for cross_entropy, Keras for bce).",
)
@click.option(
    "--prior",
    metavar="P[,P...]",
    help="No data: the positive rate (binary), the class probabilities (multiclass or "
    "--task ordinal; they sum to 1), or each label's positive rate (--task multilabel).",
)
@click.option("--counts", metavar="LABEL=N,...", help="No data: the count of each class.")
@click.option(
    "--from-stats",
    "from_stats",
    multiple=True,
    metavar="FILE",
    type=click.Path(readable=False),
    help="No data: merge statistics saved with --save-stats (repeat for each part).",
)
@click.option(
    "--save-stats",
    metavar="FILE",
    type=click.Path(readable=False),
    help="Also write the label statistics as JSON, to merge with other parts later.",
)
@click.option(
    "--vocab-size",
    type=int,
    metavar="V",
    help="--task tokens: the model's vocabulary size (default: the largest id + 1).",
)
@click.option(
    "--smoothing",
    type=float,
    default=0.0,
    show_default=True,
    metavar="A",
    help="--task tokens: add A to every token's count (Lidstone) instead of the eps clip.",
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
    "--label-sep",
    metavar="SEP",
    help="Split text labels at SEP into label sets (multilabel), e.g. '|'; empty: no labels.",
)
@click.option(
    "--ignore-index",
    "ignore_index",
    multiple=True,
    type=int,
    metavar="I",
    help="Label value to skip, as CrossEntropyLoss(ignore_index=I) does (repeatable; "
    "masks: default 255; --task tokens: default -100).",
)
@click.option(
    "--num-classes",
    type=int,
    metavar="K",
    help="Masks: the classes are the ids 0..K-1 (default: the highest id + 1).",
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
    help="Output format: a report, JSON, code to paste, or a .npy file (numpy, with -o).",
)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    type=click.Path(readable=False),
    help="Write the result to FILE (atomically) instead of stdout (- is stdout); FILE.json, "
    ".npy or .py choose the format when --format is not given.",
)
@click.option(
    "--layer",
    metavar="NAME",
    help="--format pytorch: the module whose .bias is set (dotted names allowed; "
    "default: layer, or lm_head for --task tokens).",
)
@click.option(
    "--input-format",
    type=click.Choice(INPUT_FORMATS),
    help="Input format (default: from the extension or the first bytes; else CSV); "
    "imagefolder: PATH/<class>/<image> counts images per class; masks: a folder or glob of "
    "segmentation masks (PNG L/P/I;16, .npy) counts pixels per class (biascalc[images]).",
)
@click.option("--delimiter", metavar="CHAR", help="CSV field delimiter (default: sniffed).")
@click.option(
    "--tokens",
    type=click.Choice(TOKEN_DTYPES),
    help="PATH is raw token ids of this type (nanoGPT's train.bin: uint16); implies --task tokens.",
)
@click.option("--encoding", metavar="NAME", help="Text encoding of CSV input (default: utf-8).")
@click.option(
    "--where",
    metavar="EXPR",
    help="Use only the rows where EXPR holds, e.g. \"split == 'train' and fold != 3\" "
    "(comparisons, in (...), and/or/not; col('a b') for other names).",
)
@click.option(
    "--no-header",
    is_flag=True,
    help="CSV without a header line: columns are named by position, 1 first (-t 2).",
)
@click.option(
    "--decimal",
    metavar="CHAR",
    help="Decimal mark of CSV numbers: '.' or ',' (default: '.', or ',' when sniffed).",
)
@click.option(
    "--thousands",
    metavar="CHAR",
    help="Thousands separator of CSV numbers to remove: ',', '.', ' ', \"'\" or '_'.",
)
@click.option(
    "--explain", is_flag=True, help="Table output: show the formula and the numbers plugged in."
)
@click.option(
    "--engine",
    type=click.Choice(("local", "dask")),
    default="local",
    show_default=True,
    help="Where to compute: here, or on a Dask cluster (file PATHs; biascalc[dask]).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="--engine dask: scheduler address, e.g. tcp://10.0.0.5:8786 (default: a local cluster).",
)
@click.option(
    "--no-progress",
    is_flag=True,
    help="No progress bar on stderr (default: one for long reads when stderr is a terminal).",
)
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


#: Characters of a message shown at most (a type or a schema can be megabytes long).
MESSAGE_LIMIT = 1000


def _one_line(message: str) -> str:
    """Names and values from the data may hold line breaks; a message stays on one line,
    and short (``MESSAGE_LIMIT``)."""
    from .readers import escaped

    text = escaped(message)
    if len(text) > MESSAGE_LIMIT:
        # The start says what is wrong, the end what to do: keep both.
        head, tail = MESSAGE_LIMIT * 2 // 3, MESSAGE_LIMIT // 4
        skipped = len(text) - head - tail
        text = f"{text[:head]} ... ({skipped:,} more characters) ... {text[-tail:]}"
    return text


def _run(action: Callable[[], None], debug: bool) -> None:
    """Call ``action``, mapping library errors to one-line messages and exit codes."""
    from .errors import DataError, OptionError

    try:
        action()
    except OptionError as exc:
        if debug:
            traceback.print_exc()
        raise OptionFailure(_one_line(str(exc))) from None
    except DataError as exc:
        if debug:
            traceback.print_exc()
        raise click.ClickException(_one_line(str(exc))) from None
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except KeyboardInterrupt:
        raise click.Abort from None  # click would print a blank line for KeyboardInterrupt
    except BrokenPipeError:
        # The reader of our output went away: main() exits quietly.  (Not as an OSError:
        # click's own handler would turn it into exit 1.)
        raise _PipeClosed from None
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
    if output == "-":
        output = None  # -o - is standard output, as in most tools
    fmt = kw.pop("fmt")
    if output is not None and ctx.get_parameter_source("fmt") is click.core.ParameterSource.DEFAULT:
        # -o bias.json / bias.npy / bias.py: the file name says the format.
        fmt = OUTPUT_EXTENSIONS.get(os.path.splitext(output)[1].lower(), fmt)
    layer = kw.pop("layer")
    if (
        ctx.get_parameter_source("layer") is not click.core.ParameterSource.DEFAULT
        and fmt != "pytorch"
    ):
        raise OptionFailure("--layer applies to --format pytorch only")
    if fmt == "pytorch":  # the code renderers are imported only for the code formats
        from .render.code import is_dotted_name

        if layer is not None and not is_dotted_name(layer):
            raise OptionFailure(f"--layer must be a Python name such as model.head, not {layer!r}")
    if output is not None:
        check_output_path(output, paths)
    elif fmt == "numpy" and sys.stdout.isatty():
        raise OptionFailure(
            "--format numpy writes binary .npy data; give -o FILE or redirect stdout"
        )
    explain = kw.pop("explain")
    if explain and fmt != "table":
        raise OptionFailure(
            "--explain applies to --format table only; JSON always has 'explanation'"
        )
    from .render import BINARY_FORMATS, render

    result = _compute_result(paths, targets, kw)
    _emit(
        render(result, fmt, unicode=_can_encode("\u2588\u2014"), layer=layer, explain=explain),
        output,
    )
    if fmt in BINARY_FORMATS:
        # A .npy file holds only numbers: say on stderr which output each one is for.
        from .render.numpy import describe_outputs

        click.echo(describe_outputs(result), err=True)


def _compute_result(paths: Sequence[str], targets: Sequence[str], kw: dict[str, Any]) -> Any:
    """Parse the option strings and call the one library function that fits them."""
    from . import api

    prior = _numbers("--prior", kw.pop("prior"))
    counts = _pairs("--counts", kw.pop("counts"), _whole)
    from_stats = kw.pop("from_stats") or None
    save_stats = kw.pop("save_stats")
    source = {"--prior": prior, "--counts": counts, "--from-stats": from_stats}
    given = [name for name, value in source.items() if value is not None]
    kw["classes"] = _split_labels(kw.pop("classes"))
    kw["ignore_index"] = kw.pop("ignore_index") or None
    kw["class_weight"] = _class_weight(kw.pop("class_weight"))
    kw["output_range"] = _output_range(kw.pop("output_range"))
    pos_weight = _numbers("--pos-weight", kw.pop("pos_weight"))
    kw["pos_weight"] = (
        pos_weight[0] if pos_weight is not None and len(pos_weight) == 1 else pos_weight
    )
    reading = {k: kw.pop(k) for k in ("weight", "input_format", "delimiter", "encoding", "where")}
    csv_text = {"header": not kw.pop("no_header"), "decimal": kw.pop("decimal")}
    csv_text["thousands"] = kw.pop("thousands")
    tokens = kw.pop("tokens")
    from .options import task_for_tokens

    kw["task"] = task_for_tokens(kw["task"], tokens)
    progress = not kw.pop("no_progress")
    engine, scheduler = kw.pop("engine"), kw.pop("scheduler")
    if scheduler is not None and engine != "dask":
        raise OptionFailure("--scheduler applies to --engine dask only")
    if engine == "dask" and csv_text != {"header": True, "decimal": None, "thousands": None}:
        raise OptionFailure("--no-header, --decimal and --thousands apply to --engine local only")
    if engine == "dask" and (given or not paths or "-" in paths or tokens):
        raise OptionFailure(
            "--engine dask reads PATHs (files, folders, globs); not standard input, token files, "
            "--prior, --counts or --from-stats"
        )
    if reading["input_format"] in IMAGE_FORMATS and not given:
        if save_stats is not None or engine != "local":
            raise OptionFailure(
                f"--input-format {reading['input_format']} runs locally and saves no "
                "statistics; drop --save-stats and --engine"
            )
        return api.compute_bias_from_file(
            list(paths), list(targets) or None, progress=progress, **reading, **kw
        )
    if given:
        if len(given) > 1:
            raise OptionFailure(f"give one of {', '.join(source)}, not {' and '.join(given)}")
        if (
            paths
            or targets
            or reading["weight"]
            or reading["where"]
            or tokens
            or save_stats
            or kw["label_sep"]
        ):
            raise OptionFailure(
                f"{given[0]} replaces the data; do not give a PATH, --target, --weight, "
                "--where, --tokens, --label-sep or --save-stats with it"
            )
        kw.pop("label_sep")
        if prior is not None:
            return api.compute_bias_from_prior(prior if len(prior) > 1 else prior[0], **kw)
        if counts is not None:
            return api.compute_bias_from_counts({k: int(v) for k, v in counts.items()}, **kw)
        return api.compute_bias_from_stats([_load_stats(f) for f in from_stats or ()], **kw)
    if not paths and sys.stdin.isatty():
        raise OptionFailure(
            "no input: give a PATH (or '-' to read standard input), or --prior / --counts"
        )
    from .options import BiasOptions

    options = BiasOptions(**kw)
    stats: Any  # label statistics, or token counts
    if engine == "dask":
        from .integrations.dask import collect_path_stats

        stats, names = collect_path_stats(
            list(paths), list(targets) or None, options=options, scheduler=scheduler, **reading
        )
    else:
        stats, names = api.collect_file_stats(
            list(paths) or ["-"],
            list(targets) or None,
            options=options,
            progress=progress,
            tokens=tokens,
            **reading,
            **csv_text,
        )
    if save_stats is not None:
        from .output import check_output_path, write_atomic

        check_output_path(save_stats, paths)
        write_atomic(save_stats, (json.dumps(stats.to_dict(), ensure_ascii=False) + "\n").encode())
    return api.result_from_stats(stats, options, source=names)


def _load_stats(path: str) -> dict[str, Any]:
    from .errors import DataError

    try:
        with open(path, encoding="utf-8") as f:
            data: dict[str, Any] = json.load(f)
    except OSError as exc:
        raise DataError(f"cannot read statistics '{path}': {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"'{path}' is not a biascalc statistics file (JSON): {exc}") from None
    return data


def _whole(text: str) -> float:
    value = int(text.strip())
    if value < 0:
        raise ValueError(text)
    return value


def _can_encode(text: str) -> bool:
    try:
        text.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _emit(data: str | bytes, output: str | None) -> None:
    if output is None:
        try:
            if isinstance(data, bytes):
                sys.stdout.buffer.write(data)
                sys.stdout.buffer.flush()
            else:
                click.echo(data, nl=False)
                sys.stdout.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise click.ClickException(f"cannot write the output: {exc.strerror or exc}") from None
        return
    from .output import write_atomic

    write_atomic(output, data if isinstance(data, bytes) else data.encode("utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code (callable from tests).

    Run as the console script (no ``argv``), Ctrl-C leaves at once with exit 130 (see
    :mod:`biascalc._signals`).  Output that cannot be written is one line: a closed pipe
    (``biascalc ... | head``) ends quietly, a full disk (``> /dev/full``) is an error.
    """
    console = argv is None
    if console:
        from . import _signals

        _signals.watch()
        _signals.leave(_main_guarded(argv, console))
    return _main_guarded(argv, console)


def _main_guarded(argv: Sequence[str] | None, console: bool) -> int:
    """:func:`_main` with interrupts and failed writes of the output mapped to exit codes."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # here, not at exit, so that a failed write is reported
    except (click.Abort, KeyboardInterrupt):
        if console:
            from . import _signals

            _signals.abort()
        click.echo("Aborted.", err=True)
        return 130
    except (BrokenPipeError, _PipeClosed):
        # The reader of our stdout went away (biascalc ... | head): not an error of ours.
        _silence_stdout()
        return 0
    except OSError as exc:
        _silence_stdout()
        click.echo(f"Error: cannot write the output: {exc.strerror or exc}", err=True)
        return 1
    return code


def _main(argv: Sequence[str] | None) -> int:
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
    except SystemExit as exc:
        if exc.code == 1 and _stdout_closed():
            return 0  # click's answer to a closed pipe (EPIPE) is exit 1: ours is quiet
        raise
    return 0


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone (poll reports an error on it)."""
    import select

    try:
        poll = select.poll()
        poll.register(sys.__stdout__.fileno() if sys.__stdout__ else 1, select.POLLOUT)
        return any(event & select.POLLERR for _, event in poll.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the exit's flush of what is left cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a real file (a test's capture)
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
