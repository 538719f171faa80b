"""Drills end to end: the acceptance checks of the kill switch, measured from the run itself.

The checks below read the drill's raw log (epoch records, extrinsic records, the ledger) rather
than the report's own numbers, so a bug in the report cannot hide a bug in the halt.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from subnetsim.cli import main
from subnetsim.drill.config import load_drill
from subnetsim.drill.log import total_tao
from subnetsim.drill.report import build_report
from subnetsim.drill.runner import run_drill, simulate_drill
from subnetsim.subnet.errors import ConfigError
from subnetsim.world import build_world

DRILLS = Path(__file__).resolve().parents[2] / "scenarios" / "drills"
WEIGHT_CALLS = {"set_weights", "commit_weights", "reveal_weights"}


@pytest.fixture(scope="module")
def cabal():
    """The cabal drill, run once: (run, report)."""
    run = simulate_drill(load_drill(DRILLS / "cabal.toml"))
    return run, build_report(run).as_json()


def halted_blocks(run, report) -> range:
    return range(report["halt_block"], report["halt_end_block"])


def test_after_the_halt_no_emission_is_paid_and_stake_only_moves_by_exits(cabal):
    run, report = cabal
    during = [r for r in run.log.epochs if r.block in halted_blocks(run, report)]
    assert len(during) >= 3  # the check below has epochs to look at
    for record in during:
        assert record.emission_tao.sum() == 0
    exits = [r for r in run.log.extrinsics if r.kind == "remove_stake" and r.accepted]
    first, last = during[0].stake, during[-1].stake
    moved = {uid for uid, (a, b) in enumerate(zip(first, last, strict=True)) if a != b}
    assert moved <= {run.world.chain.uid_of(r.hotkey) for r in exits}


def test_no_weights_are_accepted_while_weights_are_halted(cabal):
    run, report = cabal
    halt = next(r for r in run.log.extrinsics if r.kind == "governance" and r.accepted)
    assert halt.block == report["halt_block"]
    # From the call after the HALT (earlier calls in its block ran before it) to the resume.
    calls = [r for r in run.log.extrinsics if r.kind in WEIGHT_CALLS
             and (halt.block, halt.index) < (r.block, r.index)
             and r.block < report["halt_end_block"]]
    assert calls  # validators kept trying
    assert all(not r.accepted and r.error == "SubnetHalted" for r in calls)


def test_remove_stake_still_works_during_the_halt(cabal):
    run, report = cabal
    exits = [r for r in run.log.extrinsics if r.kind == "remove_stake"]
    assert exits and all(r.accepted for r in exits)
    assert all(r.block in halted_blocks(run, report) for r in exits)


def test_resume_is_signed_by_t_resume_members_with_the_resume_key(cabal):
    run, report = cabal
    resume = [e for e in run.council.enactments if e.action == "RESUME"]
    assert len(resume) == 1 and resume[0].accepted
    assert len(resume[0].signing.signers) == run.config.council.resume_threshold
    assert resume[0].signed.group_public_key == run.council.keys["resume"].public.group_public_key
    assert report["resume_block"] == resume[0].result.block == report["halt_end_block"]


def test_the_council_status_lists_members_and_proposals_for_the_dashboard(cabal):
    run, _ = cabal
    status = run.council.status()
    assert [m["name"] for m in status["members"]] == [f"member-{i}" for i in range(1, 8)]
    assert sum(m["signed"] for m in status["members"]) == run.config.council.resume_threshold
    assert [(p["action"], p["signatures"], p["threshold"], p["status"])
            for p in status["proposals"]] == [("HALT", 3, 3, "accepted"),
                                              ("EXTEND", 3, 3, "accepted"),
                                              ("RESUME", 5, 5, "accepted")]


def test_the_ledger_is_conserved_through_halt_extension_and_resume(cabal):
    run, report = cabal
    genesis = build_world(run.config.scenario, run.seed)
    chain = run.world.chain
    assert total_tao(chain) == pytest.approx(total_tao(genesis.chain) + chain.minted,
                                             rel=1e-12)
    assert [e.action for e in run.council.enactments] == ["HALT", "EXTEND", "RESUME"]


def test_the_reported_halt_verifies_with_a_standard_ed25519_verifier(cabal):
    _, report = cabal
    halt = report["halt"]
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(halt["group_public_key_hex"]))
    key.verify(bytes.fromhex(halt["signature_hex"]), bytes.fromhex(halt["message_hex"]))
    assert b"action=HALT" in bytes.fromhex(halt["message_hex"])
    assert report["detection_block"] < report["halt_block"]
    assert report["time_to_halt_s"] > 0 and report["attacker_emission_before_halt"] > 0


def test_without_enough_members_for_a_resume_the_halt_expires_after_its_extension():
    config = load_drill(DRILLS / "cabal.toml")
    governance = dataclasses.replace(
        config.governance,
        council=dataclasses.replace(config.council, offline=(1, 2, 3), max_attempts=3),
        expect=dataclasses.replace(config.expect, resume=False))
    config = dataclasses.replace(
        config, scenario=dataclasses.replace(config.scenario, governance=governance))
    run = simulate_drill(config)
    report = build_report(run).as_json()

    extend = [e for e in run.council.enactments if e.action == "EXTEND" and e.accepted]
    resume = [e for e in run.council.enactments if e.action == "RESUME"]
    assert extend and resume and resume[0].signing.signature is None
    assert report["resume_block"] is None
    assert report["halt_end_block"] == extend[-1].signed.proposal.expiry


def test_forged_replayed_and_foreign_halts_are_refused_for_the_right_reason():
    report = run_drill(load_drill(DRILLS / "forged_halt.toml")).as_json()
    refused = [(s["label"], s["error"]) for s in report["submissions"] if s["actor"] == "attack"]
    assert refused == [("forged key", "BadProposalSignature"), ("testnet halt", "WrongNetwork"),
                       ("replayed halt", "ProposalReplayed"),
                       ("tampered halt", "BadProposalSignature"),
                       ("replayed halt", "ProposalExpired"),
                       ("tampered halt", "BadProposalSignature")]
    assert report["halt_block"] == 31 and report["resume_block"] == 51


def test_the_brake_halts_a_subnet_whose_council_is_captured():
    run = simulate_drill(load_drill(DRILLS / "captured_council.toml"))
    report = build_report(run).as_json()
    plan, gate = run.config.governance.stakeholders, run.config.governance.gate

    assert [e.accepted for e in run.council.enactments] == [False]
    assert report["halt"] is None and report["halt_block"] is not None
    assert report["halt_end_block"] == report["halt_block"] + gate.brake_halt_blocks
    assert run.world.chain.ledger.burned >= plan.amount * len(plan.voters)


@pytest.mark.parametrize("path", sorted(DRILLS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_drill_passes_its_checks(path):
    report = run_drill(load_drill(path))
    assert report.passed, report.text()


def test_a_drill_is_a_function_of_its_file_and_seed():
    config = load_drill(DRILLS / "malicious_signer.toml")
    first, again = run_drill(config, 3).as_json(), run_drill(config, 3).as_json()
    assert json.dumps(first) == json.dumps(again)
    assert run_drill(config, 4).as_json()["digest"] != first["digest"]


# ----------------------------------------------------------------------------------------------
# the command


def test_the_drill_command_prints_verifiable_json(capsys):
    assert main(["drill", str(DRILLS / "sybil_flood.toml"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("halt_block", "detection_block", "resume_block", "time_to_halt_s",
                "attacker_emission_before_halt"):
        assert key in report
    assert set(report["halt"]) >= {"message_hex", "group_public_key_hex", "signature_hex"}


def test_the_drill_command_exits_1_when_a_check_fails(tmp_path, capsys):
    text = (DRILLS / "sybil_flood.toml").read_text().replace("resume = true", "resume = false")
    (tmp_path / "wrong.toml").write_text(text)
    assert main(["drill", str(tmp_path / "wrong.toml")]) == 1
    assert "FAILED: resume_as_expected" in capsys.readouterr().out


def test_a_bad_drill_file_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "bad.toml").write_text(
        "[governance.council]\nmembers = 3\nhalt_threshold = 4\n")
    assert main(["drill", str(tmp_path / "bad.toml")]) == 2
    error = capsys.readouterr().err
    assert "council.halt_threshold" in error and len(error.strip().splitlines()) == 1


def test_unknown_keys_in_a_drill_name_their_path(tmp_path):
    (tmp_path / "typo.toml").write_text("[governance]\n[[attacks]]\nkind = \"cabal\"\nstart = 5\n")
    with pytest.raises(ConfigError, match=r"attacks\[0\]\.start"):
        load_drill(tmp_path / "typo.toml")
