"""The "hockey stick": the same network trained with a zero output bias and with biascalc's.

    python examples/hockey_stick.py            # writes docs/hockey_stick.png, prints the figures

Data: sample_data/fraud_imbalanced.csv (1 % positives), features f1-f4, label is_fraud,
binary cross-entropy.  Both runs start from the same seeded weights; only the output
bias differs (0 against logit(0.01) = -4.595).  With a zero bias the network first spends
its steps learning that fraud is rare (the blade of the stick); with biascalc's bias it
starts there.  CPU, deterministic, well under a minute.  Needs torch and matplotlib.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from biascalc import compute_bias_from_file
from biascalc.integrations.torch import init_output_bias_

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "sample_data" / "fraud_imbalanced.csv"
FEATURES = ["f1", "f2", "f3", "f4"]
STEPS = 1500
BATCH = 256
LEARNING_RATE = 1e-3
SEED = 0


def make_model() -> torch.nn.Sequential:
    torch.manual_seed(SEED)  # same weights for both runs
    return torch.nn.Sequential(
        torch.nn.Linear(len(FEATURES), 32),
        torch.nn.ReLU(),
        torch.nn.Linear(32, 32),
        torch.nn.ReLU(),
        torch.nn.Linear(32, 1),
    )


def train(model: torch.nn.Sequential, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Adam on minibatches; returns the full-data loss before each step and after the last."""
    loss_fn = torch.nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    order = torch.Generator().manual_seed(SEED)  # same batches for both runs
    history = []
    for _ in range(STEPS):
        with torch.no_grad():
            history.append(loss_fn(model(x), y).item())
        batch = torch.randint(len(x), (BATCH,), generator=order)
        optimizer.zero_grad()
        loss_fn(model(x[batch]), y[batch]).backward()
        optimizer.step()
    with torch.no_grad():
        history.append(loss_fn(model(x), y).item())
    return np.array(history)


def first_step_at_or_below(history: np.ndarray, level: float) -> int | None:
    hits = np.flatnonzero(history <= level)
    return int(hits[0]) if hits.size else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "hockey_stick.png")
    args = parser.parse_args()
    started = time.perf_counter()
    # A network this small runs fastest, and reproducibly, on one thread.
    torch.set_num_threads(1)

    frame = pd.read_csv(DATA)
    x = torch.tensor(frame[FEATURES].to_numpy(np.float32))
    y = torch.tensor(frame[["is_fraud"]].to_numpy(np.float32))
    result = compute_bias_from_file(str(DATA), "is_fraud")

    plain = make_model()
    with torch.no_grad():
        plain[-1].get_parameter("bias").zero_()
    informed = make_model()
    init_output_bias_(informed[-1], result)

    zero_history = train(plain, x, y)
    biascalc_history = train(informed, x, y)

    # The level to reach: where the biascalc-initialised network already is at step 0
    # (the loss of predicting the prior), and a level both runs reach later.
    prior_level = result.expected_loss_recommended
    later_levels = (0.05, 0.04)
    figures = {
        "bias": float(result.bias[0]),
        "expected loss, zero bias": result.expected_loss_zero_bias,
        "expected loss, biascalc bias": result.expected_loss_recommended,
        "initial loss, zero bias": zero_history[0],
        "initial loss, biascalc bias": biascalc_history[0],
        f"final loss after {STEPS} steps, zero bias": zero_history[-1],
        f"final loss after {STEPS} steps, biascalc bias": biascalc_history[-1],
    }
    for name, value in figures.items():
        print(f"{name:45s} {value:.4f}")
    for level in (prior_level, *later_levels):
        for label, history in (("zero bias", zero_history), ("biascalc bias", biascalc_history)):
            step = first_step_at_or_below(history, level)
            reached = step if step is not None else f"more than {STEPS}"
            print(f"steps to reach loss {level:.4f}, {label:14s} {reached}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=110)
    steps = np.arange(len(zero_history))
    ax.plot(steps, zero_history, label="zero output bias", color="#d62728")
    ax.plot(steps, biascalc_history, label=f"biascalc bias ({result.bias[0]:.3f})", color="#1f77b4")
    ax.axhline(prior_level, color="grey", linestyle=":", linewidth=1)
    ax.annotate(
        f"loss of predicting the prior: {prior_level:.4f}",
        (len(steps) * 0.55, prior_level),
        textcoords="offset points",
        xytext=(0, 5),
        color="grey",
        fontsize=8,
    )
    ax.set_yscale("log")
    ticks = [0.04, 0.05, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7]
    ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("training step (Adam, batch 256)")
    ax.set_ylabel("training loss (BCEWithLogitsLoss, full data)")
    ax.set_title(
        "fraud_imbalanced.csv, 1 % positives: the same MLP, two output biases", fontsize=10
    )
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.output, metadata={"Software": None})
    print(f"wrote {args.output} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
