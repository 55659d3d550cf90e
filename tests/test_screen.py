"""Network screening: the TTS / TTR linear programs on a network solved by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from conftest import deep_update

from shocktwin import cli
from shocktwin.errors import ScenarioError
from shocktwin.scenarios import load_scenario, parse_scenario
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


# --------------------------------------------------------------------------- supply tiers

# A chain of two tiers: the plant makes 2 units/h, each of one valve, and holds 100 valves.
# The valve maker (tier 1, 3/h) makes each valve from 1 casting and holds 40; the foundry
# (tier 2, 5/h) casts them. TTRs: valve maker 120 h, foundry 100 h.
#
# By hand (f = valves shipped, g = castings shipped to the valve maker, over t hours):
#   plant 2t ≤ 100 + f;  valve maker f ≤ 3t, f ≤ 40 + g;  foundry g ≤ 5t.
# - Foundry down (g = 0): f ≤ min(3t, 40), and 3t ≥ 40 from 13.3 h, when 2t = 26.7 ≤ 140:
#   2t ≤ 140, TTS 70 h. Over its 100 h at most 140 of 200 units are made: 60 lost.
# - Valve maker down (f = 0): 2t ≤ 100, TTS 50 h; over 120 h 240 − 100 = 140 lost.
# - Neither down: g = 5t ≥ 2t and f = 3t ≥ 2t, so demand is met for ever: the foundry's
#   disruption alone cuts what the valve maker can ship.
# Risk exposure: valve maker 140/140, foundry 60/140.
CHAIN = {
    "version": 1, "name": "screen-chain", "horizon": "10d",
    "plant": {
        "suppliers": [
            {"id": "valve-maker", "material": "valve", "lot_size": 50, "lead_time": "10h",
             "inputs": [{"material": "casting", "initial": 40, "reorder_point": 20}]},
            {"id": "foundry", "material": "casting", "tier": 2, "lot_size": 50,
             "lead_time": "1d"}],
        "buffers": [{"id": "valves", "material": "valve", "initial": 100,
                     "reorder_point": 30}],
        "stations": [{"id": "release", "kind": "release", "sla": "4h"}],
        "routing": ["release"],
        "demand": {"rate": "2/h", "due_in": "1d"}},
    "screen": {"nodes": [
        {"supplier": "valve-maker", "capacity": "3/h", "ttr": "120h"},
        {"supplier": "foundry", "capacity": "5/h", "ttr": "100h"}]},
}


def test_a_tier_two_disruption_lasts_until_the_stock_of_both_tiers_runs_out() -> None:
    rows = {r.supplier: r for r in screen(network_of(parse_scenario(CHAIN)))}
    assert rows["foundry"].tier == 2 and rows["valve-maker"].tier == 1
    assert rows["foundry"].tts_h == pytest.approx(70.0)
    assert rows["foundry"].lost_units == pytest.approx(60.0)
    assert rows["valve-maker"].tts_h == pytest.approx(50.0)
    assert rows["valve-maker"].lost_units == pytest.approx(140.0)
    assert rows["foundry"].risk_exposure == pytest.approx(60 / 140)
    assert rows["foundry"].at_risk and rows["valve-maker"].at_risk


def test_the_quantity_per_unit_and_a_tier_two_backup_count() -> None:
    # 2 castings a valve: the 40 in stock make 20 valves, 2t ≤ 120, TTS 60 h; over 100 h
    # 200 − 120 = 80 lost.
    doc = deep_update(CHAIN, {})
    doc["plant"]["suppliers"][0]["inputs"][0]["quantity"] = 2
    rows = {r.supplier: r for r in screen(network_of(parse_scenario(doc)))}
    assert rows["foundry"].tts_h == pytest.approx(60.0)
    assert rows["foundry"].lost_units == pytest.approx(80.0)
    # A backup foundry (1/h) qualified 20 h after the foundry is lost: from 20 h
    # 2t ≤ 100 + 40 + (t − 20), t ≤ 120 (f ≤ 3t holds); over 100 h 40 + 80 castings make
    # 120 valves, 220 with the plant's stock ≥ 200: nothing lost. The backup down: the
    # foundry keeps supplying.
    doc = deep_update(CHAIN, {})
    doc["plant"]["suppliers"].append({"id": "foundry-b", "material": "casting", "tier": 2,
                                      "lot_size": 50, "lead_time": "1d",
                                      "qualification": "20h"})
    doc["screen"]["nodes"].append({"supplier": "foundry-b", "capacity": "1/h", "ttr": "50h"})
    rows = {r.supplier: r for r in screen(network_of(parse_scenario(doc)))}
    assert rows["foundry"].tts_h == pytest.approx(120.0)
    assert rows["foundry"].lost_units == pytest.approx(0.0)
    assert math.isinf(rows["foundry-b"].tts_h)


TWO_PRODUCTS = Path(__file__).parent / "screen_two_tier.yaml"

# tests/screen_two_tier.yaml: pumps (4/h) need 1 housing, valves (3/h) 2 housings and 1
# seal; stock 200 housings, 60 seals; housings 12/h (TTR 50 h), seals 5/h (TTR 100 h) from
# 30 kg of rubber in stock, 1 kg a seal, rubber mill (tier 2) 4/h (TTR 100 h).
#
# By hand:
# - Seals down: only valves need them, 3t ≤ 60, TTS 20 h. Over 100 h 60 of 300 valves are
#   made, 240 lost; the 400 pumps need 400 of 200 + 12·100 housings: none lost.
# - Rubber mill down: the seals ship ≤ min(5t, 30), 3t ≤ 60 + 30, TTS 30 h (5t ≥ 30 from
#   6 h, when 18 ≤ 90). Over 100 h 90 valves, 210 lost; pumps untouched.
# - Housings down: 4t + 2·3t ≤ 200, TTS 20 h. Over 50 h the 200 housings are shared:
#   lost = (200 − y_pump) + (150 − y_valve) with y_pump + 2·y_valve ≤ 200 is least at
#   y_pump = 200, y_valve = 0: 150 lost, all valves. Sharing the shortage evenly (40 % of
#   what each needs) would lose 120 + 90 = 210.
# Risk exposure: seals 240/240, rubber mill 210/240 = 0.875, housings 150/240 = 0.625.


def test_two_products_lose_only_what_the_disruption_reaches() -> None:
    rows = {r.supplier: r for r in screen(network_of(load_scenario(TWO_PRODUCTS)))}
    seals, mill, housings = rows["seals"], rows["rubber-mill"], rows["housings"]
    assert seals.tts_h == pytest.approx(20.0)
    assert seals.lost_by_product == pytest.approx({"pump": 0.0, "valve": 240.0})
    assert mill.tier == 2 and mill.tts_h == pytest.approx(30.0)
    assert mill.lost_by_product == pytest.approx({"pump": 0.0, "valve": 210.0})
    assert housings.tts_h == pytest.approx(20.0)
    assert housings.lost_by_product == pytest.approx({"pump": 0.0, "valve": 150.0})
    assert [r.risk_exposure for r in (seals, mill, housings)] == pytest.approx(
        [1.0, 0.875, 0.625])


def test_a_shared_material_goes_to_the_product_that_can_still_be_made() -> None:
    # Housings at 6/h, below the 10/h both products need: the plant runs short of them even
    # undisturbed (10t ≤ 200 + 6t: every TTS ≤ 50 h). Over the seals' 100 h, 800 housings
    # can be had for 1,000 wanted; with the seals out the valves can use only 120 of them
    # (60 valves), so the 400 pumps get theirs: pumps lose nothing, valves 240.
    import yaml

    doc = yaml.safe_load(TWO_PRODUCTS.read_text())
    doc["screen"]["nodes"][0]["capacity"] = "6/h"
    rows = {r.supplier: r for r in screen(network_of(parse_scenario(doc)))}
    assert rows["seals"].lost_by_product == pytest.approx({"pump": 0.0, "valve": 240.0})
    assert rows["seals"].tts_h == pytest.approx(20.0)


def test_screen_command_ranks_a_two_tier_two_product_network(runner) -> None:  # type: ignore[no-untyped-def]
    import json

    result = runner.invoke(cli.app, ["screen", str(TWO_PRODUCTS), "--json"])
    assert result.exit_code == 0, result.output
    nodes = json.loads(result.output)["nodes"]
    assert [n["supplier"] for n in nodes] == ["seals", "rubber-mill", "housings"]
    assert [n["lost_units"] for n in nodes] == pytest.approx([240.0, 210.0, 150.0])
    assert nodes[1]["tts_h"] == pytest.approx(30.0)
    table = runner.invoke(cli.app, ["screen", str(TWO_PRODUCTS)])
    assert table.exit_code == 0, table.output
    assert "rubber-mill" in table.output and "rubber" in table.output
    assert [n["tier"] for n in nodes] == [1, 2, 1]
    assert nodes[0]["lost_by_product"] == pytest.approx({"pump": 0.0, "valve": 240.0})
    assert "tier" in table.output


def test_every_supplier_of_every_tier_needs_a_node() -> None:
    bad = deep_update(CHAIN, {})
    bad["screen"]["nodes"] = bad["screen"]["nodes"][:1]
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(bad)
    assert "supplier 'foundry' needs a node" in str(caught.value)
