"""`hotline config load`: idempotent, updates on edit, and names file and key on error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from hotline.config_loader import ConfigError, load_config
from hotline.core.extensions import db
from hotline.models import Jurisdiction, LegalNetwork, Responder

ROOT = Path(__file__).resolve().parent.parent
SLUGS = {"new-york-city", "chicago", "los-angeles", "san-francisco", "santa-clara-county",
         "santa-ana", "seattle", "denver", "austin", "philadelphia", "new-haven", "milwaukee"}


@pytest.fixture
def config_dir(tmp_path):
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target)
    return target


def _load(app, directory):
    with app.app_context():
        summary = load_config(db.session, app.extensions["hotline_vault"], directory)
        db.session.commit()
        return summary


def test_demo_config_has_the_twelve_slugs(app):
    with app.app_context():
        assert set(db.session.scalars(select(Jurisdiction.slug))) == SLUGS
        assert db.session.scalar(select(func.count(LegalNetwork.id))) == 12
        phones = [app.extensions["hotline_vault"].decrypt(r.phone_enc, "responder")
                  for r in db.session.scalars(select(Responder))]
        assert phones and all(p[-7:-2] == "55501" for p in phones)


def test_loading_twice_changes_nothing(app, config_dir):
    assert not _load(app, config_dir).changed
    assert not _load(app, config_dir).changed


def test_editing_yaml_then_loading_updates(app, config_dir):
    path = config_dir / "jurisdictions.yaml"
    data = yaml.safe_load(path.read_text())
    data["jurisdictions"][1]["name"] = "Chicago and suburbs"
    data["jurisdictions"][1]["aliases"]["la villita chica"] = {"zip": "60623"}
    path.write_text(yaml.safe_dump(data))
    summary = _load(app, config_dir)
    assert summary.updated == ["jurisdiction chicago"]
    with app.app_context():
        chicago = db.session.scalar(select(Jurisdiction).where(Jurisdiction.slug == "chicago"))
        assert chicago.name == "Chicago and suburbs"
        assert "la villita chica" in chicago.rules["aliases"]
    assert not _load(app, config_dir).changed


def test_changing_a_phone_number_updates_the_responder(app, config_dir):
    path = config_dir / "networks.yaml"
    data = yaml.safe_load(path.read_text())
    data["networks"][0]["members"][0]["phone"] = "+12125550199"
    path.write_text(yaml.safe_dump(data))
    summary = _load(app, config_dir)
    assert "responder new-york-city-lawyer-1" in summary.updated


def test_a_member_may_prefer_whatsapp(app, config_dir):
    path = config_dir / "networks.yaml"
    data = yaml.safe_load(path.read_text())
    data["networks"][0]["members"][0]["channel"] = "whatsapp"
    path.write_text(yaml.safe_dump(data))
    assert "responder new-york-city-lawyer-1" in _load(app, config_dir).updated
    with app.app_context():
        from hotline.models import Responder

        assert db.session.scalar(select(Responder.channel).where(
            Responder.key == "new-york-city-lawyer-1")) == "whatsapp"


@pytest.mark.parametrize(("file", "mutate", "where"), [
    ("jurisdictions.yaml", lambda d: d["jurisdictions"][2].pop("timezone"),
     "jurisdictions[2].timezone"),
    ("jurisdictions.yaml", lambda d: d["jurisdictions"][0].update(timezone="America/Nowhere"),
     "jurisdictions[0].timezone"),
    ("jurisdictions.yaml", lambda d: d["jurisdictions"][3].update(slug="San Francisco"),
     "jurisdictions[3].slug"),
    ("jurisdictions.yaml", lambda d: d["jurisdictions"][4].update(zips=["9512"]),
     "jurisdictions[4].zips[0]"),
    ("jurisdictions.yaml", lambda d: d["jurisdictions"][1]["aliases"].update(pilsen={"x": 1}),
     "jurisdictions[1].aliases.pilsen.x"),
    ("networks.yaml", lambda d: d["networks"][0]["members"][1].update(phone="not a phone"),
     "networks[0].members[1].phone"),
    ("networks.yaml", lambda d: d["networks"][2].update(serves=["atlantis"]),
     "networks[2].serves"),
    ("networks.yaml", lambda d: d["networks"][1]["escalation"]["steps"][0].update(target="x"),
     "networks[1].escalation.steps[0].target"),
    ("networks.yaml", lambda d: d["networks"][1]["rotations"][0].update(period="hourly"),
     "networks[1].rotations[0].period"),
    # what loaded silently ("120 created") and failed later in triage
    ("jurisdictions.yaml", lambda d: d["jurisdictions"][1]["policy"].update(
        cluster_radius_m="eight hundred"), "jurisdictions[1].policy.cluster_radius_m"),
    ("jurisdictions.yaml", lambda d: d["jurisdictions"][1]["policy"].update(
        cluster_radius=800), "jurisdictions[1].policy.cluster_radius"),
    ("jurisdictions.yaml", lambda d: d["jurisdictions"][1]["policy"].update(
        verify_deadline_min=0), "jurisdictions[1].policy.verify_deadline_min"),
    ("jurisdictions.yaml", lambda d: d["jurisdictions"][1]["policy"].update(
        auto_verify_trusted_verifier="yes"),
     "jurisdictions[1].policy.auto_verify_trusted_verifier"),
    ("jurisdictions.yaml", lambda d: d["jurisdictions"][0].update(countys=["Kings"]),
     "jurisdictions[0].countys"),
    ("networks.yaml", lambda d: d["networks"][0]["rotations"][0].update(overrides=[
        {"start": "2026-12-24T18:00", "end": "2026-12-25T09:00", "responder": "nobody"}]),
     "networks[0].rotations[0].overrides[0].responder"),
    ("networks.yaml", lambda d: d["networks"][0]["rotations"][0].update(overrides=[
        {"start": "2026-13-45", "end": "2026-12-25T09:00",
         "responder": d["networks"][0]["members"][0]["key"]}]),
     "networks[0].rotations[0].overrides[0].start"),
    ("networks.yaml", lambda d: d["networks"][0]["rotations"][0].update(starts_on="2026-13-45"),
     "networks[0].rotations[0].starts_on"),
    ("networks.yaml", lambda d: d["networks"][0]["members"][0].update(role="boss"),
     "networks[0].members[0].role"),
    ("networks.yaml", lambda d: d["networks"][0]["members"][0].update(channel="telegram"),
     "networks[0].members[0].channel"),
    ("networks.yaml", lambda d: d["networks"][0]["escalation"].update(repeats=1),
     "networks[0].escalation.repeats"),
    ("languages/es.yaml", lambda d: d["templates"].pop("page"), "templates"),
    ("languages/es.yaml", lambda d: d["templates"].update(page="HOTLINE {cdoe}"),
     "templates.page"),
    ("languages/es.yaml", lambda d: d.update(code="fr"), "code"),
    ("languages/es.yaml", lambda d: d["keywords"].update(stop="parar"), "keywords.stop"),
    ("languages.yaml", lambda d: d["languages"].append("xx"), "languages"),
    ("languages.yaml", lambda d: d.update(fallback=["en", "de"]), "fallback[1]"),
    ("jurisdictions.yaml", lambda d: d["jurisdictions"][0].update(languages=["xx"]),
     "jurisdictions[0].languages"),
    ("templates.yaml", lambda d: d.update(templates={"ack": {"xx": "hi"}}), "templates.ack.xx"),
    ("templates.yaml", lambda d: d.update(extra={}), "extra"),
    # call rosters and hotline numbers
    ("jurisdictions.yaml", lambda d: d["jurisdictions"][2].update(
        hotline_numbers=d["jurisdictions"][1]["hotline_numbers"]),
     "jurisdictions[2].hotline_numbers[0]"),
    ("jurisdictions.yaml", lambda d: d["jurisdictions"][2].update(hotline_numbers=["555-0199"]),
     "jurisdictions[2].hotline_numbers[0]"),
    ("networks.yaml", lambda d: d["networks"][1]["call_rosters"][0]["shifts"].append(
        {"volunteer": "nobody"}), "networks[1].call_rosters[0].shifts[2].volunteer"),
    ("networks.yaml", lambda d: d["networks"][1]["call_rosters"][0]["shifts"][1].update(
        start="25:00"), "networks[1].call_rosters[0].shifts[1].start"),
    ("networks.yaml", lambda d: d["networks"][1]["call_rosters"][0]["shifts"][1].update(
        days=["monday"]), "networks[1].call_rosters[0].shifts[1].days[0]"),
    ("networks.yaml", lambda d: d["networks"][1]["call_rosters"][0]["shifts"][1].update(
        start="09:00", end="09:00"), "networks[1].call_rosters[0].shifts[1]"),
    ("networks.yaml", lambda d: d["networks"][1]["call_rosters"][0].update(ring_seconds=2),
     "networks[1].call_rosters[0].ring_seconds"),
    ("networks.yaml", lambda d: d["networks"][1]["call_rosters"][0].update(serves=["denver"]),
     "networks[1].call_rosters[0].serves[0]"),
    ("networks.yaml", lambda d: d["networks"][1]["call_rosters"].append(
        d["networks"][1]["call_rosters"][0]), "networks[1].call_rosters[1].name"),
])
def test_bad_file_names_file_and_key(app, config_dir, file, mutate, where):
    path = config_dir / file
    data = yaml.safe_load(path.read_text())
    mutate(data)
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as caught:
        _load(app, config_dir)
    assert str(caught.value).startswith(f"{path}: {where}:")


def test_yaml_syntax_error_names_the_file(app, config_dir):
    (config_dir / "jurisdictions.yaml").write_text("jurisdictions: [\n  - slug: x\n")
    with pytest.raises(ConfigError, match="jurisdictions.yaml: not valid YAML"):
        _load(app, config_dir)


def test_missing_phone_names_file_and_key_once(app, config_dir):
    path = config_dir / "networks.yaml"
    data = yaml.safe_load(path.read_text())
    del data["networks"][0]["members"][0]["phone"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as caught:
        _load(app, config_dir)
    assert str(caught.value) == f"{path}: networks[0].members[0].phone: is required"


def test_call_rosters_load_and_a_second_load_changes_nothing(app, config_dir):
    from hotline.models import CallRoster

    with app.app_context():
        rosters = {r.network.slug: r for r in db.session.scalars(select(CallRoster))}
        assert len(rosters) == 12  # every jurisdiction's network has one
        chicago = rosters["chicago-legal"]
        assert chicago.serves == ["chicago"] and chicago.ring_seconds == 20
        assert chicago.shifts[0] == {"volunteer": "chicago-volunteer-7", "days": [
            "mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}
    path = config_dir / "networks.yaml"
    data = yaml.safe_load(path.read_text())
    data["networks"][1]["call_rosters"][0]["ring_seconds"] = 25
    path.write_text(yaml.safe_dump(data))
    assert "call roster chicago-legal/hotline" in _load(app, config_dir).updated
    assert not _load(app, config_dir).changed
    del data["networks"][1]["call_rosters"]
    path.write_text(yaml.safe_dump(data))
    assert "call roster chicago-legal/hotline removed" in _load(app, config_dir).updated
