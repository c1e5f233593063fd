"""The ``biascalc`` command: its options, parsed by click, and its entry point.

This module only declares the options; :mod:`biascalc._cli_compute` turns them into one
library call and renders the result, :mod:`biascalc._cli_run` maps errors to one-line
messages and exit codes (DataError -> 1, OptionError -> 2), :mod:`biascalc._cli_help`
lays out ``--help``.  Heavy modules (numpy, pyarrow) are imported only when a
computation runs, so ``biascalc --help`` stays instant.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from ._cli_help import EPILOG, SectionedCommand
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
TOKEN_DTYPES = ("uint16", "uint32", "int32", "int64")


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


@click.command(
    cls=SectionedCommand,
    sections=HELP_SECTIONS,
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
    metavar="balanced|effective:BETA|median-frequency|LABEL=W,...",
    help="Class weights of the loss (PyTorch weight=; 'balanced' is n / (K n_k); "
    "effective:BETA is Cui et al. 2019; median-frequency, for masks, Eigen & Fergus 2015).",
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
    from ._cli_compute import compute
    from ._cli_run import run

    debug = kw.pop("debug")
    run(lambda: compute(ctx, paths, targets, **kw), debug)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code (callable from tests).

    Run as the console script (no ``argv``), Ctrl-C leaves at once with exit 130 (see
    :mod:`biascalc._signals`).  Output that cannot be written is one line: a closed pipe
    (``biascalc ... | head``) ends quietly, a full disk (``> /dev/full``) is an error.
    """
    from ._cli_run import run_command

    return run_command(cli, argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
