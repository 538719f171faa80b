"""``subnetsim replay``: epochs over a recorded weight history (docs/replay-format.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``replay`` to the CLI."""
    command = commands.add_parser(
        "replay", help="replay a recorded weight history epoch by epoch",
        description="Run consecutive epochs over HISTORY.json (docs/replay-format.md), carrying "
        "what the chain stores between epochs: u16 bonds, permits, last_update, registrations. "
        "--from reads a yuma-simulation case (.json) or metagraph files (.pt), or bittensor SDK "
        "metagraph state dicts (.pt, one per block), instead.",
    )
    command.add_argument("sources", type=Path, nargs="+", metavar="HISTORY.json",
                         help="history file; with --from: the case file, or the .pt files "
                         "(or a directory of them)")
    command.add_argument("--from", dest="source_kind", default="history",
                         choices=("history", "yuma-simulation", "metagraph"),
                         help="what the files are (default: a history file)")
    command.add_argument("--save-history", type=Path, metavar="FILE",
                         help="with --from: also write the converted history to FILE")
    command.add_argument("--exact", action="store_true",
                         help="subtensor's fixed-point arithmetic (arithmetic=exact)")
    command.add_argument("--compare", metavar="VARIANTS",
                         help="comma-separated variants to run on the same history: classic, "
                         "yuma3, yuma3_liquid (one batched call; --out draws dividends.png)")
    command.add_argument("--set", dest="overrides", action="append", default=[],
                         metavar="KEY=VALUE", help="override a hyperparameter (repeatable)")
    command.add_argument("--json", action="store_true",
                         help='print {"epochs": [{"block", "incentive", "dividends", '
                         '"consensus", "validator_trust"}]} (per variant with --compare)')
    command.add_argument("--out", type=Path, metavar="DIR",
                         help="write epochs.parquet (and dividends.png with --compare) to DIR")
    command.set_defaults(handler=_replay)


def _replay(args: argparse.Namespace) -> int:
    import dataclasses

    from subnetsim.history import replay_history
    from subnetsim.subnet.config import parse_assignment, replace_dotted

    history = _read_history(args)
    hyper = history.hyperparameters
    for text in args.overrides:
        hyper = replace_dotted(hyper, *parse_assignment(text), path="hyperparameters")
    history = dataclasses.replace(history, hyperparameters=hyper)
    exact = args.exact or hyper.arithmetic == "exact"
    variants = [v.strip() for v in args.compare.split(",")] if args.compare else ["history"]
    result = replay_history(history, variants, exact=exact)
    if args.out is not None:
        _write(result, variants, args.out)
    if args.json:
        data: Any = (result.to_data(variants[0]) if not args.compare else
                     {"variants": {name: result.to_data(name) for name in variants}})
        print(json.dumps(data))
        return 0
    _print_summary(result, variants, exact)
    return 0


def _read_history(args: argparse.Namespace) -> Any:
    """The history named on the command line, converted first when ``--from`` says so."""
    from subnetsim.history import load_history, parse_history
    from subnetsim.history_import import import_history
    from subnetsim.subnet.errors import ConfigError

    if args.source_kind == "history":
        if len(args.sources) != 1 or args.save_history is not None:
            raise ConfigError("replay", " ".join(map(str, args.sources)),
                              "expected one history file (several files, and --save-history,"
                              " go with --from yuma-simulation|metagraph)")
        return load_history(args.sources[0])
    data = import_history(args.source_kind, args.sources)
    if args.save_history is not None:
        args.save_history.write_text(json.dumps(data), encoding="utf-8")
    return parse_history(data)


def _print_summary(result: Any, variants: list[str], exact: bool) -> None:
    blocks = result.blocks
    print(f"replayed {len(blocks)} epochs (blocks {blocks[0]}..{blocks[-1]}), "
          f"{'exact' if exact else 'float'} arithmetic")
    for name in variants:
        last = result.outputs[name][-1]
        top = sorted(range(len(last.dividends)), key=lambda uid: -last.dividends[uid])[:5]
        shares = ", ".join(f"uid {uid}: {last.dividends[uid]:.5f}" for uid in top
                           if last.dividends[uid] > 0)
        print(f"  {name}: last epoch's largest dividends: {shares or 'none'}")


def _write(result: Any, variants: list[str], out: Path) -> None:
    import numpy as np
    import pandas as pd

    from subnetsim.history import OUTPUT_FIELDS

    out.mkdir(parents=True, exist_ok=True)
    frames = []
    for name in variants:
        for index, (block, outputs) in enumerate(zip(result.blocks, result.outputs[name],
                                                     strict=True)):
            n = len(outputs.incentive)
            columns = {"variant": name, "epoch": index, "block": block, "uid": np.arange(n)}
            columns.update({field: getattr(outputs, field) for field in OUTPUT_FIELDS})
            frames.append(pd.DataFrame(columns))
    pd.concat(frames, ignore_index=True).to_parquet(out / "epochs.parquet", index=False)
    if len(variants) > 1:
        _plot_dividends(result, variants, out / "dividends.png")
    print(f"wrote {out / 'epochs.parquet'}" + (f" and {out / 'dividends.png'}"
                                                if len(variants) > 1 else ""))


def _plot_dividends(result: Any, variants: list[str], path: Path) -> None:
    """Dividends of every validator over the epochs, one panel per variant."""
    import numpy as np
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.5 * len(variants), 3.6), layout="constrained")
    axes = figure.subplots(1, len(variants), sharey=True, squeeze=False)[0]
    for axis, name in zip(axes, variants, strict=True):
        dividends = np.array([out.dividends for out in result.outputs[name]])
        for uid in np.flatnonzero(dividends.max(axis=0) > 0):
            axis.plot(result.blocks, dividends[:, uid], label=f"uid {uid}", linewidth=1.2)
        axis.set_title(name)
        axis.set_xlabel("block")
    axes[0].set_ylabel("dividends (share)")
    if len(axes[0].lines) <= 12:
        axes[0].legend(fontsize="small")
    figure.savefig(path, dpi=110)
