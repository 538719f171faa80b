"""Build the report page: plain HTML with inline CSS and base64 PNG figures, nothing fetched.

``build_report(folder)`` reads a sweep folder (``sweep.json``) or a study folder
(``study.json``) and returns one HTML document with these sections (each an ``id`` a reader
or a test can jump to): ``overview``, ``parameters``, ``results`` (a sweep's per-point summary
or a study's trials, every metric as mean [95% interval] with its seed count: for a sweep the
confidence interval of the mean, for a study where a fresh-seed mean will land), ``front``
(study only), ``figures``, ``trajectories``, ``failures`` and ``provenance``.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from subnetsim.subnet.errors import ConfigError

__all__ = ["build_report", "folder_kind", "front_basis"]

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .6em 0; font-size: 12.5px; }
th, td { border: 1px solid #ddd; padding: .25em .55em; text-align: right; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
figure { margin: 1em 0; } img { max-width: 100%; border: 1px solid #eee; }
.warning { background: #fff4d6; border-left: 4px solid #e0a800; padding: .4em .8em; }
pre { background: #f7f7f7; padding: .6em; overflow-x: auto; font-size: 12px; }
"""


def folder_kind(folder: Path) -> str:
    """``sweep`` or ``study``; anything else is a ConfigError."""
    if (folder / "study.json").is_file():
        return "study"
    if (folder / "sweep.json").is_file():
        return "sweep"
    raise ConfigError("DIR", str(folder), "is not a sweep or study folder (no sweep.json or "
                      "study.json): give the --out folder of `subnetsim sweep` or `tune`")


def build_report(folder: str | Path) -> str:
    """The HTML page of the sweep or study in ``folder``."""
    folder = Path(folder)
    kind = folder_kind(folder)
    return _sweep_page(folder) if kind == "sweep" else _study_page(folder)


# --- a sweep --------------------------------------------------------------------------------


def _sweep_page(folder: Path) -> str:
    manifest = _json(folder / "sweep.json")
    summary = _csv(folder / "summary.csv")
    parameters = manifest.get("parameters", [])
    seeds = len(manifest.get("run_seeds", []))
    metrics = [name[:-5] for name in (summary[0] if summary else {}) if name.endswith("_mean")]
    metrics = [m for m in metrics if any(row[f"{m}_n"] not in ("", "0") for row in summary)]
    body = [f"<h1>Sweep {_e(manifest.get('name', folder.name))}</h1>",
            _section("overview", "Overview", [
                _facts([("points", len(manifest.get("points", []))), ("seeds per point", seeds),
                        ("mode", manifest.get("mode", "")),
                        ("fast path", manifest.get("fast_path", False)),
                        ("base scenario", manifest.get("scenario", {}).get("name", ""))]),
                _seed_warning(seeds)]),
            _section("parameters", "Parameters", [_table(
                ["point", *parameters],
                [[p_index, *(p["values"].get(name) for name in parameters)]
                 for p_index, p in enumerate(manifest.get("points", []))])]),
            _section("results", f"Metrics per point (mean [95% interval], n seeds; {seeds} "
                     "seeds per point)", [
                         "<p>Intervals: expanded percentile bootstrap of the mean over seeds; "
                         "they stay within the values observed, hence within each metric's "
                         "range.</p>",
                         _table(["point", *parameters, "runs", *metrics],
                                [[row["point"], *(row.get(p, "") for p in parameters),
                                  row["runs"], *(_interval_cell(row, m) for m in metrics)]
                                 for row in summary])]),
            _section("figures", "Figures", _images(folder, ["plot-*.png", "heatmap-*.png"])),
            _section("trajectories", "Trajectories over epochs",
                     _images(folder, ["trajectory-*.png"])),
            _failures(folder, "point"),
            _provenance(manifest.get("provenance", {}))]
    return _page(f"Sweep {manifest.get('name', '')}", body)


# --- a study --------------------------------------------------------------------------------


def _study_page(folder: Path) -> str:
    manifest = _json(folder / "study.json")
    identity = manifest.get("identity", {})
    seeds = len(identity.get("run_seeds", []))
    objectives = identity.get("objectives", [])
    constraints = identity.get("constraints", [])
    space = identity.get("parameters", {})
    front = _csv(folder / "front.csv")
    trials = _csv(folder / "trials.csv")
    metrics = list(dict.fromkeys([o["metric"] for o in objectives] +
                                 [c["metric"] for c in constraints]))
    finished = sum(row["state"] == "COMPLETE" for row in trials)
    failed = sum(row["state"] == "FAIL" for row in trials)
    goal = [f"{o['direction']} {o['metric']} (mean over seeds)" for o in objectives]
    goal += [_constraint_text(c) for c in constraints]
    body = [f"<h1>Study {_e(identity.get('name', folder.name))}</h1>",
            _section("overview", "Overview", [
                f"<p>{_e(manifest.get('description', ''))}</p>",
                _facts([("objectives and constraints", "; ".join(goal)),
                        ("sampler", identity.get("sampler", "")),
                        ("trials finished / failed / budget",
                         f"{finished} / {failed} / {manifest.get('budget', '')}"),
                        ("batch (asked before any is told)", identity.get("batch", "")),
                        ("seeds per trial (the same for every trial)", seeds),
                        ("storage", manifest.get("storage", ""))]),
                _seed_warning(seeds)]),
            _section("parameters", "Search space", [_table(
                ["parameter", "range or choices"],
                [[name, json.dumps(spec)] for name, spec in space.items()], text_columns=2)]),
            _section("front", f"Pareto front ({len(front)} trials; {front_basis(front, seeds)})", [
                         "<p>Each row is a setting no other feasible trial beats on every "
                         "objective. Its override file is <code>front/trial-NNNNN.set</code> "
                         "(<code>--set</code> lines) and <code>front/trial-NNNNN.toml</code> "
                         "(a scenario for <code>subnetsim run</code>).</p>",
                         _table(["trial", *space, *metrics],
                                [[row["trial"], *(_short(row.get(p, "")) for p in space),
                                  *(_interval_cell(row, m) for m in metrics)]
                                 for row in front]),
                         *_images(folder, ["plot-front.png"])]),
            _section("results", "Every trial", [
                "<details><summary>trials.csv</summary>" + _table(
                    ["trial", "state", *space, *metrics, "feasible"],
                    [[row["trial"], row["state"], *(_short(row.get(p, "")) for p in space),
                      *(_interval_cell(row, m) for m in metrics), row["feasible"]]
                     for row in trials]) + "</details>"]),
            _section("figures", "Search history and importances",
                     _images(folder, ["plot-history.png", "plot-importances.png"]) +
                     [_table(["objective", "parameter", "importance"],
                             [[r["objective"], r["parameter"], _number(r["importance"])]
                              for r in _csv(folder / "importances.csv")], text_columns=2)]),
            _section("trajectories", "Trajectories of the front over epochs",
                     _images(folder, ["trajectory-*.png"])),
            _failures(folder, "trial"),
            _provenance(manifest.get("provenance", {}))]
    return _page(f"Study {identity.get('name', '')}", body)


# --- shared pieces ----------------------------------------------------------------------------


def _failures(folder: Path, key: str) -> str:
    rows = _csv(folder / "errors.csv")
    if not rows:
        return _section("failures", "Failures", ["<p>No run failed.</p>"])
    parts = [_table(list(rows[0]), [list(row.values()) for row in rows],
                    text_columns=len(rows[0]))]
    for row in rows[:20]:
        trace = folder / row.get("traceback", "")
        if row.get("traceback") and trace.is_file():
            parts.append(f"<details><summary>{_e(key)} {_e(row[key])}, replicate "
                         f"{_e(row.get('replicate', ''))}: {_e(row['error'])}</summary><pre>"
                         f"{_e(trace.read_text(encoding='utf-8'))}</pre></details>")
    return _section("failures", f"Failures ({len(rows)})", parts)


def _provenance(facts: dict[str, Any]) -> str:
    if not facts:
        return _section("provenance", "Provenance", ["<p>Not recorded (made before "
                                                     "subnetsim recorded provenance).</p>"])
    code = facts.get("code", {})
    commit = code.get("git_commit") or "not a git checkout"
    if code.get("git_dirty"):
        commit += " (with uncommitted changes)"
    packages = facts.get("packages", {})
    return _section("provenance", "Provenance", [
        _facts([("code version", f"subnetsim {code.get('package_version')}, git {commit}"),
                ("python", f"{facts.get('python')} ({facts.get('python_implementation')})"),
                ("platform", facts.get("platform")), ("CPUs", facts.get("cpu_count")),
                ("executor", facts.get("executor")), ("workers", facts.get("workers")),
                ("scheduler", facts.get("scheduler") or "-")]),
        f"<details><summary>{len(packages)} installed packages</summary>" +
        _table(["package", "version"], sorted(packages.items()), text_columns=2) +
        "</details>"])


def _seed_warning(seeds: int) -> str:
    from subnetsim.sweep.report import few_seeds_warning

    warning = few_seeds_warning(seeds)
    return f'<p class="warning">Warning: {_e(warning)}.</p>' if warning else ""


def _images(folder: Path, patterns: Iterable[str]) -> list[str]:
    parts = []
    for pattern in patterns:
        for path in sorted(folder.glob(pattern)):
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            parts.append(f'<figure><img alt="{_e(path.stem)}" src="data:image/png;base64,'
                         f'{data}"><figcaption>{_e(path.name)}</figcaption></figure>')
    return parts or ["<p>No figure.</p>"]


def front_basis(front: list[dict[str, str]], seeds: Any) -> str:
    """What the front's numbers are: means on the confirm seeds when the study re-ran its
    front points (simultaneous intervals), else means on the study's seeds."""
    confirmed = max((int(float(row.get("confirm_seeds") or 0)) for row in front), default=0)
    if confirmed:
        return (f"mean over {confirmed} confirm seeds the study did not choose by [where the "
                f"mean of {seeds} fresh seeds lands: 95% for all front points together]")
    return f"mean over {seeds} seeds [95% interval for the mean of {seeds} fresh seeds]"


def _interval_cell(row: dict[str, str], metric: str) -> str:
    mean, low, high = (_float(row.get(f"{metric}_{part}", "")) for part in ("mean", "low",
                                                                            "high"))
    count = row.get(f"{metric}_n", "")
    if math.isnan(mean):
        return "-"
    if math.isnan(low):
        return f"{mean:.4g} (n={count})"
    return f"{mean:.4g} [{low:.4g}, {high:.4g}] (n={count})"


def _constraint_text(constraint: dict[str, Any]) -> str:
    low = f"{constraint['min']:g} <= " if constraint.get("min") is not None else ""
    high = f" <= {constraint['max']:g}" if constraint.get("max") is not None else ""
    return f"subject to {low}{constraint['metric']}{high}"


def _section(anchor: str, title: str, parts: Sequence[str]) -> str:
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>{"".join(parts)}</section>'


def _facts(items: Sequence[tuple[str, Any]]) -> str:
    return _table(["", ""], [[name, value] for name, value in items], text_columns=2,
                  header=False)


def _table(headers: Sequence[Any], rows: Iterable[Sequence[Any]], text_columns: int = 1,
           header: bool = True) -> str:
    def cell(tag: str, index: int, value: Any) -> str:
        kind = ' class="text"' if index < text_columns else ""
        return f"<{tag}{kind}>{_e(_text(value))}</{tag}>"

    head = ("<tr>" + "".join(cell("th", i, h) for i, h in enumerate(headers)) + "</tr>"
            if header else "")
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>"
                   for row in rows)
    return f"<table>{head}{body}</table>"


def _page(title: str, body: Sequence[str]) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def _short(text: str) -> str:
    """A parameter value from a CSV cell, floats to 4 significant digits."""
    if text in ("True", "False") or not text:
        return text.lower()
    try:
        return text if text.lstrip("-").isdigit() else f"{float(text):.4g}"
    except ValueError:
        return text


def _number(text: str) -> str:
    value = _float(text)
    return "-" if math.isnan(value) else f"{value:.3f}"


def _float(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _e(value: Any) -> str:
    return html.escape(str(value))


def _json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError("DIR", str(path), f"cannot read: {error}") from None


def _csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
