"""The command's options -> one library call -> a renderer, and where the result goes.

:func:`compute` reads the option strings (``--prior 0.2,0.8``, ``--counts a=3``,
``--class-weight``), refuses combinations that do not go together (exit 2), picks the one
:mod:`biascalc.api` function that fits them and renders its result.  Nothing numeric
happens here.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from ._cli_run import OptionFailure

__all__ = ["compute"]

#: Input formats that are image data sets (biascalc.images), not tables of labels.
IMAGE_FORMATS = ("imagefolder", "masks")
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
    if value is None or value in ("balanced", "median-frequency") or value.startswith("effective:"):
        return value
    return _pairs("--class-weight", value, float)


def _output_range(value: str | None) -> tuple[float, float] | None:
    """``0,5`` -> (0.0, 5.0)."""
    numbers = _numbers("--output-range", value)
    if numbers is not None and len(numbers) != 2:
        raise OptionFailure(f"--output-range takes LO,HI (two numbers), not {value!r}")
    return None if numbers is None else (numbers[0], numbers[1])


def compute(ctx: click.Context, paths: Sequence[str], targets: Sequence[str], **kw: Any) -> None:
    """Check the options that depend on each other, compute the result, write it out.

    ``kw`` are the command's parameters as click parsed them; ``ctx`` says which of them
    were given rather than left at their default.
    """
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
    from ._cli_io import can_encode, emit
    from .render import BINARY_FORMATS, render

    result = _compute_result(paths, targets, kw)
    emit(
        render(result, fmt, unicode=can_encode("\u2588\u2014"), layer=layer, explain=explain),
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
        from ._cli_io import load_stats

        return api.compute_bias_from_stats([load_stats(f) for f in from_stats or ()], **kw)
    if not paths and sys.stdin.isatty():
        raise OptionFailure(
            "no input: give a PATH (or '-' to read standard input), or --prior / --counts"
        )
    from .options import BiasOptions

    options = BiasOptions(**kw)
    stats: Any  # label statistics, or token counts
    if engine == "dask":
        try:
            from .integrations.dask import collect_path_stats
        except ImportError as exc:
            missing = exc.__cause__ if isinstance(exc.__cause__, ModuleNotFoundError) else exc
            if not isinstance(missing, ModuleNotFoundError):
                raise
            # An option whose package is missing is a usage error (as masks without Pillow).
            package = (missing.name or "dask").split(".")[0]
            raise OptionFailure(
                f"--engine dask needs the {package} package, which is not installed: "
                "pip install 'biascalc[dask]'"
            ) from None

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
        from ._cli_io import save_stats as write_stats

        write_stats(save_stats, stats, paths)
    return api.result_from_stats(stats, options, source=names)


def _whole(text: str) -> float:
    value = int(text.strip())
    if value < 0:
        raise ValueError(text)
    return value
