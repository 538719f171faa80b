"""``subnetsim run | metagraph | export | verify``: simulations and their run stores."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from subnetsim.catalog import DEFAULT_SCENARIO, resolve, safe_file_name, shipped
from subnetsim.subnet.errors import ConfigError, StoreError

__all__ = ["cli_scenario", "register_run_commands", "with_overrides"]

RUNS_FOLDER = Path("runs")  # default home of run stores, under the working directory


def register_run_commands(commands: argparse._SubParsersAction) -> None:
    """Add the run-store commands to the CLI."""
    _register_run(commands)
    _register_metagraph(commands)
    _register_export(commands)
    _register_verify(commands)
    _register_subnets(commands)


# --- run -----------------------------------------------------------------------------------------


def _register_run(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "run", help="simulate a scenario headless and record it",
        description="Simulate a scenario (TOML) for a block budget, recording every block, "
        "extrinsic, event and epoch in a SQLite run store with periodic checkpoints. Prints a "
        "progress bar on a terminal and the final btcli-style metagraph.",
    )
    command.add_argument("scenario", nargs="?",
                         help="scenario TOML file, or a shipped scenario's name "
                         f"({', '.join(shipped())}; default: {DEFAULT_SCENARIO}; with --resume:"
                         " the stored run's, and a given one must be the same)")
    command.add_argument("--seed", type=int, help="run seed (default: the scenario's seed)")
    budget = command.add_mutually_exclusive_group()
    budget.add_argument("--blocks", type=int, help="blocks to simulate")
    budget.add_argument("--epochs", type=int, help="simulate until this many epochs have run")
    command.add_argument("--set", dest="overrides", action="append", default=[],
                         metavar="KEY=VALUE",
                         help="override a scenario value, e.g. --set kappa=0.6 or "
                         "--set recording.checkpoint_every=100 (repeatable)")
    command.add_argument("--db", type=Path,
                         help="run store file (default: ./runs/<scenario>-seed<seed>.db)")
    command.add_argument("--no-db", action="store_true", help="do not record the run")
    command.add_argument("--resume", action="store_true",
                         help="continue the store's latest run from its last checkpoint (its "
                         "scenario, seed and tempo; a different --seed, --set or scenario is "
                         "refused, naming the difference)")
    command.add_argument("--json", action="store_true", help="print a JSON summary")
    command.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from subnetsim.progress import block_progress
    from subnetsim.run import run

    if args.seed is not None and args.seed < 0:
        raise ConfigError("--seed", args.seed, "must be >= 0")
    if args.no_db and args.resume:
        raise ConfigError("--resume", True, "needs a run store (drop --no-db)")
    scenario = cli_scenario(args.scenario or DEFAULT_SCENARIO, args.overrides)
    seed = scenario.seed if args.seed is None else args.seed
    db = None if args.no_db else (args.db or RUNS_FOLDER / f"{safe_file_name(scenario.name)}"
                                  f"-seed{seed}.db")
    if args.resume:
        return _resume(args, Path(db))  # type: ignore[arg-type]
    blocks = _budget(scenario, args.blocks, args.epochs)
    with block_progress(enabled=sys.stderr.isatty() and not args.json) as progress:
        if db is None:
            result = run(scenario, seed, blocks=blocks, progress=progress)
        else:
            from subnetsim.subnet.store import RunStore

            Path(db).parent.mkdir(parents=True, exist_ok=True)
            with RunStore.open(db) as store:
                result = run(scenario, seed, blocks=blocks, store=store, progress=progress)
    print_run_result(result, db, args.json)
    return 0


def cli_scenario(reference: str, overrides: list[str]) -> Any:
    """A scenario file of either kind (``[[subnets]]``: a dTAO network) with ``--set``s."""
    from subnetsim.subnet.dtao.scenario import is_network_file, load_network_scenario
    from subnetsim.subnet.scenario import load_scenario

    path = resolve(reference)
    loaded = load_network_scenario(path) if is_network_file(path) else load_scenario(path)
    return with_overrides(loaded, overrides)


def with_overrides(scenario: Any, overrides: list[str]) -> Any:
    from subnetsim.subnet.dtao.scenario import NetworkScenario, apply_network_overrides
    from subnetsim.subnet.scenario import apply_overrides

    if isinstance(scenario, NetworkScenario):
        return apply_network_overrides(scenario, overrides)
    return apply_overrides(scenario, overrides)


def _budget(scenario: Any, blocks: int | None, epochs: int | None) -> int | None:
    from subnetsim.subnet.dtao.scenario import NetworkScenario
    from subnetsim.subnet.scenario import block_budget

    if isinstance(scenario, NetworkScenario) and epochs is not None:
        raise ConfigError("--epochs", epochs, "a network's subnets have their own tempos; give "
                          "--blocks")
    return block_budget(scenario, blocks, epochs)


def _resume(args: argparse.Namespace, db: Path) -> int:
    """Continue a stored run exactly as it was started: anything given that differs is refused;
    ``--epochs`` counts with the stored run's tempo."""
    from subnetsim.progress import block_progress
    from subnetsim.run import run, stored_scenario
    from subnetsim.subnet.store import RunStore

    if not db.exists():
        raise StoreError(f"{db}: no run store to resume")
    with RunStore.open(db, create=False) as store:
        info = store.run(store.latest_run_id())
        stored = stored_scenario(info)
        if args.scenario is not None:
            _refuse_difference(cli_scenario(args.scenario, args.overrides), stored, "scenario")
        elif args.overrides:
            _refuse_difference(with_overrides(stored, args.overrides), stored, "--set")
        if args.seed is not None and args.seed != info.seed:
            raise ConfigError("--seed", args.seed, f"the stored run has seed {info.seed}; a"
                              " resume continues it (drop --seed, or start a new run)")
        blocks = _budget(stored, args.blocks, args.epochs)
        with block_progress(enabled=sys.stderr.isatty() and not args.json) as progress:
            result = run(stored, info.seed, blocks=blocks, store=store, resume=True,
                         progress=progress)
    print_run_result(result, db, args.json)
    return 0


def _refuse_difference(given: Any, stored: Any, what: str) -> None:
    from subnetsim.subnet.config import to_dict

    differences = _differences(to_dict(given), to_dict(stored))
    if differences:
        listed = "; ".join(f"{key}: given {mine!r}, stored {theirs!r}"
                           for key, mine, theirs in differences[:3])
        more = f" (and {len(differences) - 3} more)" if len(differences) > 3 else ""
        raise ConfigError(what, "differs", f"the stored run was started otherwise: {listed}"
                          f"{more}; a resume continues the stored run (drop it, or start a new"
                          " run)")


def _differences(given: Any, stored: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    if isinstance(given, dict) and isinstance(stored, dict):
        found = []
        for key in sorted(set(given) | set(stored), key=str):
            found += _differences(given.get(key), stored.get(key), f"{path}{key}.")
        return found
    return [] if given == stored else [(path.rstrip("."), given, stored)]


def print_run_result(result: Any, db: Path | None, as_json: bool) -> None:
    """The end of a run: a JSON summary, or the metagraph table, the counts and the digest.

    Per-uid values are for the registered uids in uid order; ``emission`` is the TAO each was
    paid at the last epoch, ``model_loss`` a miner's true held-out loss (null for validators
    and miners serving nothing valid: JSON has no NaN). A network run prints its subnets."""
    from subnetsim.network_world import NetworkResult

    if isinstance(result, NetworkResult):
        _print_network_result(result, db, as_json)
        return
    uids = [n.uid for n in result.neurons]
    if as_json:
        summary: dict[str, Any] = {
            "digest": result.digest, "blocks": result.blocks, "epochs": result.epochs,
            "seed": result.seed, "db": str(db) if db else None, "uid": uids,
            "role": [n.role for n in result.neurons],
            "behaviour": [n.behaviour for n in result.neurons],
        }
        for name in ("stake", "incentive", "dividends", "emission", "consensus",
                     "validator_trust"):
            summary[name] = getattr(result, name)[uids].tolist()
        summary["model_loss"] = [
            float(result.model_loss[n.uid])
            if n.role == "miner" and np.isfinite(result.model_loss[n.uid]) else None
            for n in result.neurons
        ]
        print(json.dumps(summary))
        return
    from subnetsim.tables import format_table, metagraph_columns

    headers, rows = metagraph_columns(
        result.stake, result.consensus, result.incentive, result.dividends, result.emission,
        result.validator_trust, result.validator_permit, uids=uids,
    )
    behaviour = {n.uid: n.behaviour for n in result.neurons}
    headers = [*headers, "BEHAVIOUR"]
    rows = [[*row, behaviour[row[0]]] for row in rows]
    print(format_table(headers, rows))
    print(f"\nblocks {result.blocks}  epochs {result.epochs}  seed {result.seed}")
    _print_head(result, db)


def _print_network_result(result: Any, db: Path | None, as_json: bool) -> None:
    """A network run's end: the JSON summary (issuance and one entry per subnet) or btcli's
    subnet table."""
    if as_json:
        print(json.dumps({"digest": result.digest, "blocks": result.blocks, "seed": result.seed,
                          "db": str(db) if db else None, "issuance_tao": result.issuance_tao,
                          "root_tao": result.root_tao,
                          "subnets": [_subnet_json(row) for row in result.subnets]}))
        return
    _print_subnets(result)
    print(f"\nblocks {result.blocks}  seed {result.seed}")
    _print_head(result, db)


def _subnet_json(row: Any) -> dict[str, Any]:
    keys = ("netuid", "name", "price", "moving_price", "tao_in", "alpha_in", "alpha_out",
            "emission_share", "tao_emission", "root_proportion")
    return {key: getattr(row, key) for key in keys}


def _print_subnets(result: Any) -> None:
    from subnetsim.network_report import subnet_table
    from subnetsim.tables import format_table

    headers, rows = subnet_table(result.subnets, result.blocks_since_epoch)
    print(format_table(headers, rows))
    prices = sum(row.price for row in result.subnets)
    print(f"\nissuance {result.issuance_tao:,.4f} τ  root stake {result.root_tao:,.4f} τ  "
          f"Σ prices {prices:.6f} τ/α")


def _print_head(result: Any, db: Path | None) -> None:
    print(f"digest {result.digest}" + (f"\nrun store {db}" if db else ""))
    if db:  # the anchor: kept elsewhere, it proves the store later (docs/audit.md)
        print(f"head {result.blocks}:{result.digest}  (verify --expect {result.blocks}:"
              f"{result.digest} proves this store)")


# --- metagraph, export, verify -------------------------------------------------------------------


def _add_db_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("db", type=Path, help="run store file")
    command.add_argument("--run", type=int, dest="run_id", help="run id (default: the latest)")


def _open_store(path: Path) -> Any:
    from subnetsim.subnet.store import RunStore

    return RunStore.open(path, create=False)


def _register_metagraph(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser("metagraph", help="print a recorded run's metagraph",
                                  description="Print the metagraph of a recorded run as of "
                                  "the last epoch at or before a block.")
    _add_db_arguments(command)
    command.add_argument("--block", type=int, help="block (default: the head)")
    command.set_defaults(handler=_metagraph)


def _metagraph(args: argparse.Namespace) -> int:
    from subnetsim.tables import format_table, metagraph_columns

    with _open_store(args.db) as store, store.snapshot():
        run_id = args.run_id if args.run_id is not None else store.latest_run_id()
        head = store.head(run_id)
        block = args.block if args.block is not None else (head.number if head else 0)
        record = store.epoch_at_or_before(run_id, block)
        if record is None:
            raise StoreError(f"run {run_id} has no epoch at or before block {block}")
    headers, rows = metagraph_columns(record.stake, record.consensus, record.incentive,
                                      record.dividends, record.emission_tao,
                                      record.validator_trust, record.validator_permit,
                                      only_nonzero=True)
    print(f"run {run_id}, epoch {record.index} at block {record.block}")
    print(format_table(headers, rows))
    return 0


def _register_export(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser("export", help="write per-epoch per-uid tables",
                                  description="Export every recorded epoch as one long table: "
                                  "one row per run, epoch and registered uid, with its hotkey, "
                                  "behaviour, shares, TAO paid, stake, and the run's seed and "
                                  "the epoch's hyperparameters on every row (pandas-readable).")
    command.add_argument("db", type=Path, help="run store file")
    command.add_argument("--run", type=int, dest="run_id", help="run id (default: every run)")
    command.add_argument("--format", choices=["csv", "parquet"], default="csv")
    command.add_argument("--out", type=Path, required=True, help="output folder")
    command.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    from subnetsim.export import export_epochs

    with _open_store(args.db) as store, store.snapshot():
        path = export_epochs(store, args.run_id, args.out, args.format)
    print(path)
    return 0


def _register_verify(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser("verify", help="prove a run store untouched",
                                  description="Check the hash chain of a recorded run and "
                                  "recompute every recorded epoch from its recorded inputs. "
                                  "Exit 0 when everything matches, 1 naming the first block or "
                                  "epoch that does not.")
    _add_db_arguments(command)
    command.add_argument("--expect", metavar="DIGEST",
                         help="the head printed at the end of the run (NUMBER:HASH or HASH): "
                         "without it, a truncated or wholly rewritten store cannot be told "
                         "from a genuine one (docs/audit.md)")
    command.set_defaults(handler=_verify)


def _network_invariants(store: Any, run_id: int) -> str:
    """For a network run: its conservation laws on every checkpoint (one implementation with
    the run's per-block check), as a phrase for verify's report; '' for a single subnet."""
    from subnetsim.network_report import check_checkpoint_invariants
    from subnetsim.run import stored_scenario
    from subnetsim.subnet.dtao.scenario import NetworkScenario

    if not isinstance(stored_scenario(store.run(run_id)), NetworkScenario):
        return ""
    return f" invariants hold at {check_checkpoint_invariants(store, run_id)} checkpoints,"


def _register_subnets(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "subnets", help="a recorded network run's subnets (btcli subnets list)",
        description="Print btcli's subnet table (netuid, name, price, market cap, emission, "
        "pool reserves, stake, supply, tempo) of a recorded dTAO network run at its head: the "
        "latest checkpoint is proven and the blocks after it replayed to the stored head hash.")
    _add_db_arguments(command)
    command.add_argument("--json", action="store_true", help="print the subnets as JSON")
    command.set_defaults(handler=_subnets)


def _subnets(args: argparse.Namespace) -> int:
    from subnetsim.network_report import network_at_head
    from subnetsim.run import stored_scenario

    with _open_store(args.db) as store:
        run_id = args.run_id if args.run_id is not None else store.latest_run_id()
        info = store.run(run_id)
        world = network_at_head(store, run_id, stored_scenario(info), info.seed)
    result = world.result()
    if args.json:
        print(json.dumps([_subnet_json(row) for row in result.subnets]))
    else:
        _print_subnets(result)
        print(f"\nrun {run_id}  block {result.blocks}  digest {result.digest}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from subnetsim.audit import recompute_epoch, verify_run
    from subnetsim.subnet.errors import VerificationError

    with _open_store(args.db) as store:
        run_id = args.run_id if args.run_id is not None else store.latest_run_id()
        try:
            report = verify_run(store, run_id, recompute_epoch, expect=args.expect)
            invariants = _network_invariants(store, run_id)
        except VerificationError as error:
            print(f"subnetsim verify: FAILED: {error}", file=sys.stderr)
            return 1
    print(f"verified run {run_id}: {report.blocks_checked} blocks, "
          f"{report.epochs_checked} epochs recomputed, {report.checkpoints_checked} checkpoints,"
          f" {report.commands_checked} commands,{invariants} head {report.head_number}:"
          f"{report.digest}"
          + ("" if args.expect else " (not anchored: pass --expect to detect truncation)"))
    return 0
