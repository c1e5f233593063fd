"""``--format table``: the human-readable report."""

from __future__ import annotations

from typing import Any

from ..result import BiasResult
from . import shown_sources

MAX_ROWS = 20
BAR_WIDTH = 24


def _label(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _num(x: float | None) -> str:
    return "n/a" if x is None else repr(float(x))


def _bar(share: float, unicode: bool) -> str:
    full = share * BAR_WIDTH
    if not unicode:
        return "#" * round(full)
    eighths = round(full * 8)
    return (
        "\u2588" * (eighths // 8)
        + ("", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589")[eighths % 8]
    )


def _grid(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def render_table(
    result: BiasResult, *, unicode: bool = True, explain: bool = False, **_: Any
) -> str:
    """A report a person reads: task and why, rows, classes with bars, bias, losses."""
    d = result.to_dict()
    dash = "\u2014" if unicode else "-"
    lines = []
    if d["source"]:
        files, more = shown_sources(tuple(d["source"]))
        lines.append(f"source      {', '.join(files)}{more}")
    if d["where"] is not None:
        lines.append(f"where       {d['where']}")
    if d["targets"]:
        weight = f"   (weights: {d['weight']})" if d["weight"] else ""
        lines.append(f"targets     {', '.join(d['targets'])}{weight}")
    lines.append(f"task        {d['task']} {dash} {d['task_reason']}")
    params = ", ".join(f"{k}={v}" for k, v in d["loss_parameters"].items())
    lines.append(
        f"loss        {d['loss']}{f' ({params})' if params else ''}, {d['activation']} output"
    )
    tokens = d["tokens"]
    if tokens is not None:
        ignored = ", ".join(str(i) for i in tokens["ignore_index"]) or "none"
        lines.append(
            f"tokens      {tokens['n_tokens']:,} counted, {tokens['n_ignored']:,} ignored "
            f"(--ignore-index {ignored})"
        )
    elif d["n_samples"] is None:
        lines.append("rows        none (probabilities given)")
    else:
        rows = f"rows        {d['n_samples']:,} used, {d['n_missing']:,} missing"
        if d["median_frequency_weights"] is not None:  # masks: a row is a pixel
            rows = f"pixels      {d['n_samples']:,} used, {d['n_missing']:,} ignored"
        if d["weight_sum"] is not None:
            rows += f", total weight {d['weight_sum']:,.6g}"
        lines.append(rows)
    lines.append("")
    bias = d["bias"]
    if tokens is not None:
        lines += _token_rows(d, unicode)
    elif d["classes"] is not None and d["priors"] is not None:
        lines += _class_rows(d, unicode)
    elif d["statistics"] is not None:
        # One bias per target, or (gaussian_nll, laplace_nll) two: listed per output below.
        per_target = len(bias) == len(d["statistics"])
        head = ["target", "mean", "std", "min", "max", "bias" if per_target else ""]
        body = [
            [s["target"], _num(s["mean"]), _num(s["std"]), _num(s["min"]), _num(s["max"]), _num(b)]
            for s, b in zip(d["statistics"][:MAX_ROWS], bias if per_target else [], strict=False)
        ]
        if not per_target:
            body = [[*row, ""] for row in _stat_rows(d["statistics"][:MAX_ROWS])]
        lines += _grid([head, *body], {1, 2, 3, 4, 5})
        if len(d["statistics"]) > MAX_ROWS:
            lines.append(
                f"  ... {len(d['statistics']) - MAX_ROWS} more targets (see --format json)"
            )
        if not per_target:
            lines += ["", *_output_rows(d["outputs"], bias, "{}")]
    prior = d["prior_bias"]
    if prior is not None and prior != bias:
        shown = ", ".join(_num(b) for b in prior[:MAX_ROWS]) + (
            ", ..." if len(prior) > MAX_ROWS else ""
        )
        lines.append(f"  without the loss adjustments the bias would be [{shown}]")
    lines.append("")
    loss = d["expected_initial_loss"]
    lines.append("expected loss at step 0")
    lines.append(f"  zero bias          {_num(loss['zero_bias'])}")
    lines.append(f"  recommended bias   {_num(loss['recommended'])}")
    if explain and d["explanation"]:
        lines.append("")
        lines.append("how")
        lines += [f"  {line}" for line in d["explanation"][: MAX_ROWS + 1]]
        if len(d["explanation"]) > MAX_ROWS + 1:
            lines.append(
                f"  ... {len(d['explanation']) - MAX_ROWS - 1} more lines (see --format json)"
            )
    for w in d["warnings"]:
        lines.append(f"warning: {w}")
    return "\n".join(lines) + "\n"


def _stat_rows(statistics: Any) -> list[list[str]]:
    return [
        [s["target"], _num(s["mean"]), _num(s["std"]), _num(s["min"]), _num(s["max"])]
        for s in statistics
    ]


def _output_rows(outputs: list[str], bias: list[float | None], name: str) -> list[str]:
    """An output / bias grid (ordinal thresholds, two-output regression heads)."""
    rows = [[name.format(o), _num(b)] for o, b in zip(outputs, bias, strict=True)]
    out = _grid([["output", "bias"], *rows[:MAX_ROWS]], {1})
    if len(rows) > MAX_ROWS:
        out.append(f"  ... {len(rows) - MAX_ROWS:,} more outputs (see --format json)")
    return out


def _class_rows(d: Any, unicode: bool) -> list[str]:
    classes, priors, bias = d["classes"], d["priors"], d["bias"]
    counts = d["counts"] or [None] * len(classes)
    task = d["task"]
    share = "weighted share" if d["weight"] else "share"
    head = ["label" if task == "multilabel" else "class", "count", share, "", "", ""]
    if task != "ordinal":
        head[4] = "bias"
    balancing = d["median_frequency_weights"]
    if balancing is not None:
        head[5] = "median-freq weight"
    training = d.get("training_priors")
    body = []
    for i, (c, n, p) in enumerate(zip(classes, counts, priors, strict=True)):
        if i >= MAX_ROWS:
            break
        note = ""
        if task == "binary":
            b, note = (_num(bias[0]), "(the output: positive class)") if i == 1 else ("", "")
        elif task == "ordinal":
            b = ""
        else:
            b = _num(bias[i])
        label = str(c) if task == "multilabel" else _label(c)
        count = "-" if n is None else f"{n:,}"
        if balancing is not None:
            note = _num(balancing[i]) + (f"  {note}" if note else "")
        body.append([label, count, f"{100 * p:.2f}%", _bar(p, unicode), b, note])
        if training is not None:
            body[-1].insert(3, f"{100 * training[i]:.2f}%")
    if training is not None:
        head.insert(3, "sampled")
    out = _grid([head, *body], {1, 2, 3, 5} if training is not None else {1, 2, 4})
    if len(classes) > MAX_ROWS:
        out.append(f"  ... {len(classes) - MAX_ROWS:,} more classes (see --format json)")
    if task == "multilabel":
        unit = (
            "pixels of the class"
            if balancing is not None
            else "rows with the label (a 1 in its column, or in the list)"
        )
        out.append(f"  (count and share: {unit})")
    if task == "ordinal":
        out += ["", *_output_rows(d["outputs"], bias, "P(y {})")]
    return out


def _token_rows(d: Any, unicode: bool) -> list[str]:
    """A vocabulary is summarised: its size, the ids never seen, entropy, top ids."""
    tokens, priors, bias = d["tokens"], d["priors"], d["bias"]
    v = tokens["vocab_size"]
    out = [
        f"vocabulary  {v:,} ids ({tokens['vocab_size_from']}); {tokens['n_absent']:,} never occur",
        f"entropy     {tokens['entropy']!r} nats per token (unigram)",
        "",
    ]
    body = [
        [str(i), f"{n:,}", f"{100 * priors[i]:.2f}%", _bar(priors[i], unicode), _num(bias[i])]
        for i, n in tokens["top"]
    ]
    out += _grid([["top id", "count", "share", "", "bias"], *body], {0, 1, 2, 4})
    out.append(f"  (bias for all {v:,} ids: --format json, numpy or pytorch)")
    return out
