"""Network screening: the TTS / TTR linear programs on a network solved by hand."""

from __future__ import annotations

import math

import pytest
from conftest import deep_update

from shocktwin import cli
from shocktwin.errors import ScenarioError
from shocktwin.scenarios import parse_scenario
from shocktwin.twin.resilience.screen import network_of, screen

# One product at 10 units/h needs 1 A and 2 B. A comes from A1 (15/h) with a backup A2
# (5/h, qualified 48 h after it is needed); B from B1 (25/h). Stock: 200 A, 600 B.
# Every supplier takes 100 h to recover; a lost unit costs 3.
#
# By hand:
# - A1 down: A lasts 200 / 10 = 20 h; A2 would help only from 48 h, and even then
#   10 t ≤ 200 + 5 (t − 48) gives t ≤ −8: TTS 20 h. Over 100 h at most 200 + 5·52 = 460 A
#   reach the line, so 1000 − 460 = 540 units are lost.
# - B1 down: 2·10 t ≤ 600, TTS 30 h; made y ≤ 600 / 2 = 300, lost 700.
# - A2 down: A1 alone (15/h ≥ 10/h) keeps the line going: TTS ∞, nothing lost.
# Risk exposure: B1 700/700 = 1, A1 540/700, A2 0.
NETWORK = {
    "version": 1, "name": "screen-test", "horizon": "10d",
    "plant": {
        "suppliers": [
            {"id": "A1", "material": "A", "lot_size": 100, "lead_time": "1d"},
            {"id": "A2", "material": "A", "lot_size": 100, "lead_time": "1d",
             "qualification": "48h"},
            {"id": "B1", "material": "B", "lot_size": 100, "lead_time": "1d"}],
        "buffers": [{"id": "a", "material": "A", "initial": 200, "reorder_point": 50},
                    {"id": "b", "material": "B", "initial": 600, "reorder_point": 50}],
        "stations": [{"id": "release", "kind": "release", "sla": "4h"}],
        "routing": ["release"],
        "bom": {"A": 1, "B": 2},
        "demand": {"rate": "10/h", "due_in": "1d"}},
    "screen": {"margin": 3.0, "nodes": [
        {"supplier": "A1", "capacity": "15/h", "ttr": "100h"},
        {"supplier": "A2", "capacity": "5/h", "ttr": "100h"},
        {"supplier": "B1", "capacity": "25/h", "ttr": "100h"}]},
}


def test_screening_matches_the_hand_solution() -> None:
    rows = {r.supplier: r for r in screen(network_of(parse_scenario(NETWORK)))}
    assert rows["A1"].tts_h == pytest.approx(20.0)
    assert rows["B1"].tts_h == pytest.approx(30.0)
    assert math.isinf(rows["A2"].tts_h)
    assert rows["A1"].lost_units == pytest.approx(540.0)
    assert rows["B1"].lost_units == pytest.approx(700.0)
    assert rows["A2"].lost_units == pytest.approx(0.0)
    assert rows["B1"].lost_profit == pytest.approx(2100.0)
    assert rows["A1"].risk_exposure == pytest.approx(540 / 700)
    assert [r.supplier for r in screen(network_of(parse_scenario(NETWORK)))] == [
        "B1", "A1", "A2"]
    assert rows["A1"].at_risk and rows["B1"].at_risk and not rows["A2"].at_risk


def test_a_backup_that_qualifies_in_time_extends_survival() -> None:
    # With A2 at 10/h from 10 h, A1's loss drops and A lasts until
    # 10 t ≤ 200 + 10 (t − 10)  ⇔  0 ≤ 100: for ever.
    doc = deep_update(NETWORK, {})
    doc["plant"]["suppliers"][1]["qualification"] = "10h"
    doc["screen"]["nodes"][1]["capacity"] = "10/h"
    rows = {r.supplier: r for r in screen(network_of(parse_scenario(doc)))}
    assert math.isinf(rows["A1"].tts_h)
    assert rows["A1"].lost_units == pytest.approx(0.0)


def test_screen_command_and_bad_blocks(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    import yaml

    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump(NETWORK))
    result = runner.invoke(cli.app, ["screen", str(path), "--json"])
    assert result.exit_code == 0, result.output
    first = json.loads(result.output)["nodes"][0]
    assert first["supplier"] == "B1" and first["tts_h"] == pytest.approx(30.0)
    bad = deep_update(NETWORK, {})
    bad["screen"]["nodes"] = [*bad["screen"]["nodes"][:2],
                              {"supplier": "C9", "capacity": "1/h", "ttr": "1h"}]
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(bad)
    text = str(caught.value)
    assert "unknown supplier 'C9'" in text and "supplier 'B1' needs a node" in text
