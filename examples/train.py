"""Train a small PyTorch network whose output bias comes from biascalc's JSON.

    biascalc data.csv -t y --format json | python examples/train.py data.csv

Reads the result object from stdin, the features (every other numeric column) and labels
from the CSV, sets the output layer's bias to ``result["bias"]`` and trains a few steps,
printing the loss at step 0 next to the loss biascalc expected.  Needs torch and pandas.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch

LOSSES: dict[str, Callable[[dict[str, Any]], torch.nn.Module]] = {
    "bce": lambda p: torch.nn.BCEWithLogitsLoss(reduction="none"),
    "cross_entropy": lambda p: torch.nn.CrossEntropyLoss(reduction="none"),
    "mse": lambda p: torch.nn.MSELoss(reduction="none"),
    "mae": lambda p: torch.nn.L1Loss(reduction="none"),
    "huber": lambda p: torch.nn.HuberLoss(reduction="none", delta=p["huber_delta"]),
    "poisson": lambda p: torch.nn.PoissonNLLLoss(log_input=True, reduction="none"),
}


def labels(result: dict[str, Any], frame: pd.DataFrame) -> torch.Tensor:
    """The targets as the loss takes them: 0/1 per output, class indices, or values."""
    targets = result["targets"]
    if result["task"] == "multiclass":
        index = {label: i for i, label in enumerate(result["classes"])}
        return torch.tensor([index[v] for v in frame[targets[0]].tolist()])
    if result["task"] == "binary":
        positive = result["classes"][-1]
        return torch.tensor((frame[targets[0]] == positive).to_numpy(np.float32)[:, None])
    return torch.tensor(frame[targets].to_numpy(np.float32))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="the CSV file biascalc read")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument(
        "--drop",
        action="append",
        default=[],
        metavar="COL",
        help="a column not to use as a feature (e.g. another encoding of the label)",
    )
    args = parser.parse_args()

    result = json.load(sys.stdin)
    if result.get("schema_version") != 1:
        sys.exit("expected biascalc's JSON (schema_version 1) on stdin")
    if result["loss"] not in LOSSES:
        sys.exit(f"this example trains with {', '.join(LOSSES)}, not {result['loss']}")
    unknown = set(result["loss_parameters"]) - {"huber_delta", "center"}
    if unknown:
        sys.exit(f"this example does not implement the loss parameters {sorted(unknown)}")

    frame = pd.read_csv(args.data).dropna(subset=result["targets"])
    skip = {*result["targets"], result["weight"], *args.drop}
    columns = frame[[c for c in frame.select_dtypes("number").columns if c not in skip]]
    standardised = (columns - columns.mean()) / columns.std(ddof=0).replace(0, 1)
    x = torch.tensor(standardised.to_numpy(np.float32))
    y = labels(result, frame)
    w = (
        None
        if result["weight"] is None
        else torch.tensor(frame[result["weight"]].to_numpy(np.float32))
    )

    torch.manual_seed(0)
    head = torch.nn.Linear(32, len(result["bias"]))
    model = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 32), torch.nn.ReLU(), head)
    with torch.no_grad():
        head.bias.copy_(torch.tensor(result["bias"]))  # the point of it all

    loss_fn = LOSSES[result["loss"]](result["loss_parameters"])

    def loss_of(out: torch.Tensor) -> torch.Tensor:
        per_sample: torch.Tensor = loss_fn(out, y)
        if per_sample.dim() > 1:
            per_sample = per_sample.mean(dim=1)
        return per_sample.mean() if w is None else (w * per_sample).sum() / w.sum()

    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    expected = result["expected_initial_loss"]
    for step in range(args.steps + 1):
        loss = loss_of(model(x))
        if step == 0:
            print(
                f"step 0: loss {loss.item():.6f}; biascalc expected {expected['recommended']:.6f} "
                f"for zero output weights ({expected['zero_bias']:.6f} with a zero bias)"
            )
        elif step % 50 == 0:
            print(f"step {step}: loss {loss.item():.6f}")
        if step < args.steps:
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
    return 0


if __name__ == "__main__":
    sys.exit(main())
