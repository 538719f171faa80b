"""subnetsim report: one self-contained page, read back by a real browser (headless Chromium)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from subnetsim.cli import main
from subnetsim.report.html import build_report
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.scenario import load_scenario
from subnetsim.sweep.config import SweepFile, resolve_sweep
from subnetsim.sweep.metrics import BehaviourGroups
from subnetsim.sweep.provenance import provenance
from subnetsim.sweep.runner import SerialExecutor, run_sweep

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "tests" / "data" / "small.toml"
TINY = ROOT / "tests" / "data" / "tiny_tune.toml"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]


def chromium() -> str:
    """The chromium binary, installed with apt-get when missing (skipped only without apt)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if not shutil.which("apt-get"):
        pytest.skip("chromium is not installed and apt-get is unavailable to install it")
    subprocess.run(["apt-get", "update"], check=True, capture_output=True, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "chromium"], check=True, capture_output=True,
                   timeout=1200)
    return shutil.which("chromium") or pytest.fail("apt-get installed no chromium binary")


def rendered_text(page: Path, tmp_path: Path) -> str:
    """The page's DOM after Chromium loaded it from disk, tags removed."""
    done = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'ud'}",
                           "--dump-dom", page.as_uri()], capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout


def test_a_study_report_opens_in_chromium_with_front_intervals_and_provenance(serial_study,
                                                                           tmp_path):
    study = serial_study
    assert main(["report", str(study)]) == 0
    page = study / "report.html"
    html = page.read_text()
    # Self-contained: every image inline, nothing to fetch.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert html.count('src="data:image/png;base64,') >= 4
    dom = rendered_text(page, tmp_path)
    front = dom[dom.index('<section id="front">'):]
    front = front[:front.index("</section>")]
    assert "Pareto front" in front and "plot-front" in front
    # Every front trial's row, with its interval and seed count.
    trials = re.findall(r"<tr><td class=\"text\">(\d+)</td>", front)
    assert trials and set(trials) <= {str(i) for i in range(6)}
    assert re.search(r"\d\.\d+ \[\d\.\d+, \d\.\d+\] \(n=3\)", front)  # confirm seeds
    assert "3 confirm seeds" in front
    provenance_section = dom[dom.index('<section id="provenance">'):]
    assert "python" in provenance_section and "executor" in provenance_section
    assert "optuna" in provenance_section and "serial" in provenance_section


def test_a_sweep_report_shows_summary_trajectories_failures_and_provenance(tmp_path):
    file = SweepFile(scenario=str(SMALL), seeds=2, root_seed=17, blocks=60,
                     parameters={"kappa": [0.3, 0.7]},
                     behaviours=BehaviourGroups(copier=("random",), attacker=("random",)))
    sweep = resolve_sweep(file, load_scenario(SMALL), default_name="tiny_sweep")
    out = tmp_path / "sweep"
    run_sweep(sweep, out, _FailSecondPoint(), provenance=provenance("serial", 1))
    errors = (out / "errors.csv").read_text().splitlines()
    assert errors[0] == "point,replicate,seed,parameters,error,message,traceback"
    assert '"{""kappa"": 0.7}"' in errors[1] and "RuntimeError" in errors[1]
    trace = (out / "errors" / "p00001-r0000.txt").read_text()
    assert "Traceback" in trace and "boom at kappa 0.7" in trace
    page = tmp_path / "sweep.html"
    assert main(["report", str(out), "--output", str(page)]) == 0
    dom = rendered_text(page, tmp_path)
    for anchor in ("results", "trajectories", "failures", "provenance"):
        assert f'<section id="{anchor}">' in dom
    assert "trajectory-emission_gini" in dom and "boom at kappa 0.7" in dom


def test_a_folder_that_is_neither_is_one_line_exit_2(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "not a sweep or study folder" in err
    with pytest.raises(ConfigError):
        build_report(tmp_path)


class _FailSecondPoint(SerialExecutor):
    def submit(self, fn, /, *args, **kwargs):
        if fn.point == 1:
            return super().submit(_boom)
        return super().submit(fn, *args, **kwargs)


def _boom():
    raise RuntimeError("boom at kappa 0.7")
