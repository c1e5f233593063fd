"""``--format python|pytorch|keras|jax``: code to paste into a training script.

Everything taken from the data (file names, column names, class labels) is data, never
code: it enters the snippet only through :func:`repr` of a ``str``/``int``/``float``/
``bool``, which always yields one line holding one literal that evaluates back to the
same value (non-printable characters, line breaks included, become escapes).  That holds
in comments too, so no label can end a comment and start a statement.  The first two
lines never contain data, because Python reads a ``coding:`` declaration there (PEP 263)
and a file name such as ``coding: utf-7`` would otherwise change how the rest decodes.

Floats are written with ``repr``, the shortest text that reads back to the same double.
"""

from __future__ import annotations

import keyword
import math
import string
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._literals import float_texts, str_literals
from .._version import __version__
from ..errors import DataError, OptionError
from ..result import BiasResult
from . import shown_sources

__all__ = ["is_dotted_name", "render_jax", "render_keras", "render_python", "render_pytorch"]

#: How each framework spells the loss a result was computed for (comments only).
_TORCH_LOSS = {
    "mse": "torch.nn.MSELoss()",
    "mae": "torch.nn.L1Loss()",
    "huber": "torch.nn.HuberLoss(delta={huber_delta!r})",
    "poisson": "torch.nn.PoissonNLLLoss(log_input=True)",
    "bce": "torch.nn.BCEWithLogitsLoss()",
    "cross_entropy": "torch.nn.CrossEntropyLoss()",
}
_KERAS_LOSS = {
    "mse": "keras.losses.MeanSquaredError()",
    "mae": "keras.losses.MeanAbsoluteError()",
    "huber": "keras.losses.Huber(delta={huber_delta!r})",
    "poisson": "keras.losses.Poisson()",
    "bce": "keras.losses.BinaryCrossentropy(from_logits=True)",
    "cross_entropy": "keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
}
#: Keras activation that turns the raw output into the prediction the Keras loss expects
#: (Keras' Poisson loss takes the rate, so a log link needs "exponential"; classification
#: losses above take logits, so no activation).
_KERAS_ACTIVATION = {"exp": "exponential", "softplus": "softplus", "sigmoid": "sigmoid"}
_ACTIVATED_LOSSES = ("mse", "mae", "huber", "quantile")
#: PyTorch spelling of a regression head's activation applied to ``out``.
_TORCH_ACTIVATION = {
    "exp": "torch.exp(out)",
    "softplus": "torch.nn.functional.softplus(out)",
    "sigmoid": "torch.sigmoid(out)",
}


def is_dotted_name(name: str) -> bool:
    """True for a Python attribute path such as ``model.head`` (no keywords, no calls)."""
    return bool(name) and all(
        part.isidentifier() and not keyword.iskeyword(part) for part in name.split(".")
    )


def _literal(value: object, ascii_only: bool = False) -> str:
    """One value as a Python literal that evaluates back to it exactly.

    ``ascii_only`` escapes non-ASCII characters too (``ascii`` instead of ``repr``), for
    output to a terminal that cannot encode them; the value read back is the same.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        return ascii(value) if ascii_only else repr(value)
    if isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, float) and not math.isnan(value):
        # repr(inf) is a name, not a literal; 1e999 overflows to inf when Python parses it.
        return repr(value) if math.isfinite(value) else ("1e999" if value > 0 else "-1e999")
    raise DataError(f"cannot write the label {value!r} as a Python literal")


#: At most this many output names in a comment.
_MAX_NAMED = 20
#: Longer lines are wrapped, one value per line, so pasted code passes common linters.
_LINE_LENGTH = 88


#: Lists longer than this (a vocabulary's bias) are packed several values to a line.
_PACK_ITEMS = 1000


def _wrap(before: str, items: list[str], after: str = "") -> list[str]:
    """``before[a, b, c]after`` on one line if it fits, else one item per line (several
    per line, up to the line length, for lists of more than _PACK_ITEMS items)."""
    line = f"{before}[{', '.join(items)}]{after}"
    if len(line) <= _LINE_LENGTH or not items:
        return [line]
    if len(items) <= _PACK_ITEMS:
        return [f"{before}[", *(f"    {item}," for item in items), f"]{after}"]
    return [f"{before}[", *_packed_rows(items), f"]{after}"]


def _packed_rows(items: list[str]) -> list[str]:
    """Rows ``    a, b, c,`` filled greedily: a row takes the next item while it stays
    within _LINE_LENGTH, and always takes at least one.

    Where each row ends is found for every start at once (a search in the running
    widths); the text is then one join of the items with ", " or a line break between
    them, so 100,000 items cost no string work per item in Python.
    """
    n = len(items)
    widths = np.fromiter(map(len, items), np.int64, n) + 2  # " item,"
    ends = np.concatenate(([0], np.cumsum(widths)))
    fits = np.searchsorted(ends, ends[:-1] + (_LINE_LENGTH - 3), side="right") - 1
    stops = np.maximum(fits, np.arange(1, n + 1)).tolist()
    separators = [", "] * (n - 1)
    stop = stops[0]
    while stop < n:  # the last item of a row is followed by a line break
        separators[stop - 1] = ",\n    "
        stop = stops[stop]
    parts: list[str] = [""] * (2 * n - 1)
    parts[0::2] = items
    parts[1::2] = separators
    return ("    " + "".join(parts) + ",").split("\n")  # an item is one line of text


def _bias_items(result: BiasResult) -> list[str]:
    """The bias as float literals; a non-finite bias is refused, since it would poison
    training."""
    values = np.asarray(result.bias, dtype=np.float64)
    bad = values[~np.isfinite(values)]
    if bad.size:
        raise DataError(
            f"the bias holds the non-finite value {float(bad[0])!r}; it cannot be written "
            "as code (use --format json to inspect the result)"
        )
    return float_texts(values)


#: Parameters that change the form of the bias, not the loss being minimised.
_NEUTRAL_PARAMETERS = frozenset({"center", "sampler", "output_range", "smoothing"})


def _loss_name(
    table: dict[str, str], result: BiasResult, ignore_keyword: str | None = None
) -> str | None:
    """The framework's spelling of the loss, or None when it cannot say it exactly (a loss
    or a parameter such as pos_weight that the table does not know).

    ``ignore_keyword``: how the framework names ``ignore_index`` (masks), e.g.
    ``ignore_class`` in Keras; one value is appended as that keyword argument.
    """
    spelling = table.get(result.loss)
    if spelling is None:
        return None
    parameters = dict(result.loss_parameters)
    ignore = parameters.pop("ignore_index", None)
    fields = {name for _, name, _, _ in string.Formatter().parse(spelling) if name}
    if set(parameters) - fields - _NEUTRAL_PARAMETERS:
        return None
    spelling = spelling.format(**parameters)
    if ignore is None:
        return spelling
    if ignore_keyword is None or not isinstance(ignore, int) or not spelling.endswith(")"):
        return None
    call, sep = spelling[:-1], "" if spelling.endswith("()") else ", "
    return f"{call}{sep}{ignore_keyword}={ignore!r})"


def _training_notes(result: BiasResult, layer: str) -> list[str]:
    """Comments saying how the head's output enters the loss, for the heads that need it."""
    params = result.loss_parameters
    notes = []
    if result.task == "regression" and result.loss in _ACTIVATED_LOSSES:
        expr = _TORCH_ACTIVATION.get(result.activation)
        if result.activation == "sigmoid":
            low, high = params.get("output_range", [0.0, 1.0])
            expr = f"{float(low)!r} + {float(high) - float(low)!r} * torch.sigmoid(out)"
        if expr is not None:
            notes.append(f"# out = {layer}(...); the loss takes the prediction {expr}.")
    if result.loss in ("gaussian_nll", "laplace_nll"):
        softplus = params.get("variance_activation") == "softplus"
        link = "torch.nn.functional.softplus(raw)" if softplus else "raw.exp()"
        notes.append(f"# mean, raw = {layer}(...).chunk(2, dim=-1); spread = {link}")
        if result.loss == "gaussian_nll":
            notes.append("# loss = torch.nn.GaussianNLLLoss()(mean, y, spread)  # variance")
        else:
            notes.append("# loss = (spread.log() + (y - mean).abs() / spread).mean()  # scale")
    if result.loss == "corn":
        k = len(result.bias) + 1
        notes.append(f"# loss = coral_pytorch.losses.corn_loss({layer}(...), y, num_classes={k})")
    tau = params.get("logit_adjustment")
    if tau is not None:
        link = "logit(prior)" if result.loss == "bce" else "log(prior)"
        notes.append(
            f"# The loss takes logits + {float(tau)!r} * {link}, prior = the class shares "
            "('priors' in --format json); at inference use the logits alone."
        )
    if "sampler" in params and result.training_priors is not None:
        notes.append(
            f"# Training draws classes with --sampler {params['sampler']}; the loss sees the "
            "shares 'training_priors' of --format json."
        )
    return notes


def _parameter(value: object, ascii_only: bool) -> str:
    """A loss parameter for a comment: a literal, or a list of them, on one line."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_parameter(v, ascii_only) for v in value) + "]"
    try:
        return _literal(value, ascii_only)
    except DataError:
        return _literal(str(value), ascii_only)


def _header(result: BiasResult, ascii_only: bool, defines_classes: bool = False) -> list[str]:
    """Provenance comments.  Lines 1-2 are fixed text (see the module docstring)."""

    def names(values: Any) -> str:
        return ", ".join(_literal(v, ascii_only) for v in values)

    n = len(result.bias)
    lines = [
        f"# Output-layer bias computed by biascalc {__version__}.",
        "# Generated code: names and labels below are quoted data, never code.",
    ]
    if result.source:
        shown, more = shown_sources(result.source)
        lines.append(f"# source: {names(shown)}{more}")
    if result.where is not None:
        lines.append(f"# where: {names([result.where])}")
    if result.targets:
        lines.append(f"# targets: {names(result.targets)}")
    elif not result.source:
        lines.append("# from given class probabilities or counts, no data")
    if result.weight is not None:
        lines.append(f"# weight: {names([result.weight])}")
    parameters = ", ".join(
        f"{_literal(str(k), ascii_only)}: {_parameter(v, ascii_only)}"
        for k, v in result.loss_parameters.items()
    )
    lines.append(
        f"# task: {names([result.task])}, loss: {names([result.loss])}"
        + (f" {{{parameters}}}" if parameters else "")
        + f", activation: {names([result.activation])}"
    )
    if result.task == "tokens" and result.n_samples is not None:
        lines.append(f"# tokens: {result.n_samples} counted, {result.n_missing} ignored")
    elif result.median_frequency_weights is not None and result.n_samples is not None:
        # Masks: a sample is a pixel (as in the table).
        lines.append(f"# pixels: {result.n_samples} used, {result.n_missing} ignored")
    elif result.n_samples is not None:
        missing = f" ({result.n_missing} with a missing label skipped)" if result.n_missing else ""
        lines.append(f"# rows: {result.n_samples}{missing}")
    lines.append(f"# {n} output unit{'s' if n != 1 else ''}; {_expected_loss(result)}")
    if result.classes is not None:
        lines += _classes_comment(result, ascii_only, defines_classes)
    return lines


def _expected_loss(result: BiasResult) -> str:
    def fmt(x: float) -> str:
        return f"{x:.6g}" if math.isfinite(x) else "not finite"

    return (
        f"expected loss at step 0: {fmt(result.expected_loss_recommended)} with this bias, "
        f"{fmt(result.expected_loss_zero_bias)} with a zero bias"
    )


def _classes_comment(result: BiasResult, ascii_only: bool, defines_classes: bool) -> list[str]:
    """What each output unit means, for classification results."""
    assert result.classes is not None
    if result.task == "multilabel":
        # The outputs are the target columns, or the labels of one list column: name them.
        if defines_classes:
            return ["# One logit per label, in the order of CLASSES."]
        return [f"# One logit per label, in this order: {_named(result.outputs, ascii_only)}"]
    if result.task == "binary" and len(result.bias) == 1:
        return [f"# The output is the logit of class {_literal(result.classes[-1], ascii_only)}."]
    if result.task == "tokens":
        return [f"# One logit per token id 0 .. {len(result.bias) - 1}, in id order."]
    if result.task == "multiclass" and len(result.classes) == len(result.bias):
        if defines_classes:
            return ["# One logit per class, in the order of CLASSES."]
        # Snippets without a CLASSES list still say which output is which class; labels
        # are repr() literals, so none can end the comment.
        return [f"# One logit per class, in this order: {_named(result.classes, ascii_only)}"]
    # Other tasks (ordinal: output k is the logit of P(y > class k)): name the outputs.
    outputs: tuple[object, ...] = tuple(getattr(result, "outputs", ()))
    if len(outputs) != len(result.bias):
        return []
    shown = ", ".join(_literal(str(o), ascii_only) for o in outputs[:_MAX_NAMED])
    more = f", ... ({len(outputs) - _MAX_NAMED} more)" if len(outputs) > _MAX_NAMED else ""
    return [f"# Outputs, in order: {shown}{more}"]


def _named(labels: Sequence[object], ascii_only: bool) -> str:
    """Labels as repr() literals (none can end a comment), shortened after _MAX_NAMED."""
    shown = ", ".join(_literal(c, ascii_only) for c in labels[:_MAX_NAMED])
    extra = len(labels) - _MAX_NAMED
    more = f", ... ({extra} more: --format python or json lists them all)" if extra > 0 else ""
    return shown + more


def _render(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def _ascii_only(context: dict[str, Any]) -> bool:
    # The CLI passes unicode=False when stdout cannot encode non-ASCII text.
    return not context.get("unicode", True)


def render_python(result: BiasResult, **context: Any) -> str:
    """Assignments only, safe to ``exec``: ``OUTPUT_BIAS`` and, for classification, ``CLASSES``.

    >>> from biascalc import compute_bias
    >>> result = compute_bias(["a", "b", "b", "b"])
    >>> namespace = {}
    >>> exec(render_python(result), namespace)
    >>> namespace["CLASSES"], namespace["OUTPUT_BIAS"] == result.bias.tolist()
    (['a', 'b'], True)
    """
    ascii_only = _ascii_only(context)
    lines = [*_header(result, ascii_only, True), *_wrap("OUTPUT_BIAS = ", _bias_items(result))]
    if result.classes is not None and result.task != "tokens":  # token ids are the indices
        items = str_literals(result.classes)
        if items is None:
            items = [_literal(c, ascii_only) for c in result.classes]
        lines += _wrap("CLASSES = ", items)
    return _render(lines)


#: What a language-model head needs to hear (``--task tokens``).  Tied heads: nanoGPT's
#: ``model.py`` (``self.transformer.wte.weight = self.lm_head.weight``, ``bias=False``);
#: Hugging Face GPT-2 ``GPT2LMHeadModel.lm_head`` is ``nn.Linear(..., bias=False)``.
_TIED_HEAD_NOTE = (
    "# Many language-model heads have no bias: GPT-2 and nanoGPT tie {layer}.weight to the",
    "# token embedding and build it with bias=False.  Give it one before this runs, e.g.",
    "#     {layer}.bias = torch.nn.Parameter(torch.zeros({n}))",
    "# (the bias is a separate parameter, so the weights stay tied), and make sure the",
    "# optimizer sees it (create the optimizer after adding it).",
)


def render_pytorch(result: BiasResult, *, layer: str | None = None, **context: Any) -> str:
    """Copies the bias into ``{layer}.bias`` (an existing module) under ``torch.no_grad()``.

    ``layer`` is the variable name (dotted paths such as ``model.head`` allowed; default
    ``layer``, or ``lm_head`` for a token stream).

    >>> from biascalc import compute_bias
    >>> print(render_pytorch(compute_bias([0, 0, 0, 1]), layer="model.head").splitlines()[-2])
    with torch.no_grad():
    """
    if layer is None:
        layer = "lm_head" if result.task == "tokens" else "layer"
    if not is_dotted_name(layer):
        raise OptionError(f"layer must be a Python name such as model.head, not {layer!r}")
    n = len(result.bias)
    lines = _header(result, _ascii_only(context))
    loss = _loss_name(_TORCH_LOSS, result, "ignore_index")
    activated = result.task == "regression" and result.activation != "identity"
    if loss is not None and not (activated and result.loss in _ACTIVATED_LOSSES):
        lines.append(f"# {layer} outputs the raw scores that {loss} takes.")
    lines += _training_notes(result, layer)
    shape = f"{{None if {layer}.bias is None else tuple({layer}.bias.shape)}}"
    missing = [f'        f"not {shape}"']
    if result.task == "tokens":
        lines += [line.format(layer=layer, n=n) for line in _TIED_HEAD_NOTE]
        missing = [
            f'        f"not {shape} "',
            '        "(a head built with bias=False needs one added: see above)"',
        ]
    lines += [
        "import torch",
        "",
        *_wrap("output_bias = torch.tensor(", _bias_items(result), ", dtype=torch.float64)"),
        f"if {layer}.bias is None or tuple({layer}.bias.shape) != ({n},):",
        "    raise ValueError(",
        f'        f"{layer}.bias must have shape ({n},) for the {n} bias value(s) of biascalc, "',
        *missing,
        "    )",
        "with torch.no_grad():",
        f"    {layer}.bias.copy_(output_bias)",
    ]
    return _render(lines)


def render_keras(result: BiasResult, **context: Any) -> str:
    """Defines ``output_bias = keras.initializers.Constant([...])`` for a Dense layer.

    >>> from biascalc import compute_bias
    >>> print(render_keras(compute_bias([0.0, 0.25, 0.5, 1.5])).splitlines()[-3])
    output_bias = keras.initializers.Constant([0.5625])
    """
    n = len(result.bias)
    activation = _KERAS_ACTIVATION.get(result.activation) if result.task == "regression" else None
    dense_args = f"{n}" + (f', activation="{activation}"' if activation else "")
    loss = _loss_name(_KERAS_LOSS, result, "ignore_class")
    lines = [
        *_header(result, _ascii_only(context)),
        "import keras",
        "",
        # Constant broadcasts the list against the bias shape (units,).
        *_wrap("output_bias = keras.initializers.Constant(", _bias_items(result), ")"),
        f"# keras.layers.Dense({dense_args}, bias_initializer=output_bias)",
    ]
    if "output_range" in result.loss_parameters:
        low, high = (float(v) for v in result.loss_parameters["output_range"])
        lines.append(f"# prediction = {low!r} + {high - low!r} * (the Dense layer's output)")
    if loss is not None:
        lines.append(f"# trained with {loss}")
    return _render(lines)


def render_jax(result: BiasResult, **context: Any) -> str:
    """Defines ``output_bias = jnp.asarray([...], dtype=jnp.float32)``, usable as a Flax bias_init.

    >>> from biascalc import compute_bias
    >>> print(render_jax(compute_bias([0.0, 0.25, 0.5, 1.5])).splitlines()[-4])
    output_bias = jnp.asarray([0.5625], dtype=jnp.float32)
    """
    n = len(result.bias)
    lines = [
        *_header(result, _ascii_only(context)),
        "import jax.numpy as jnp",
        "",
        *_wrap("output_bias = jnp.asarray(", _bias_items(result), ", dtype=jnp.float32)"),
        "# Flax: nn.Dense(",
        f"#     {n}, bias_init=lambda key, shape, dtype=jnp.float32: output_bias.astype(dtype)",
        "# )",
    ]
    return _render(lines)
