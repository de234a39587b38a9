"""The OpenStreetMap import's time and memory: the real West Oakland test extract, and a
synthetic county-sized one (a grid of named streets with a house number on every block side and
a shop every few blocks) written as .osm.pbf by pyosmium.

    .venv/bin/python benchmarks/geo_import.py [--grid 300]

Each row runs `hotline geo import` as a process on a fresh embedded database (after `db upgrade`
and `config load` of the demo config plus an Alameda County jurisdiction), and reads its wall
time and peak memory (the process's own figure). Then it times building the gazetteer with the
imported features (what each process does once) and triaging a corner in it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXTRACT = ROOT.parent / "shared" / "osm" / "west-oakland.osm.bz2"


def synthetic(path: Path, grid: int) -> int:
    """A grid x grid town of named streets: "N Street" (east-west) and "Avenue N" (north-south)
    meeting at every node, an address every block, a shop every 10th block; its node count."""
    import osmium

    writer = osmium.SimpleWriter(str(path))
    node_id = 1
    ids: dict[tuple[int, int], int] = {}
    try:
        for i in range(grid):
            for j in range(grid):
                ids[(i, j)] = node_id
                writer.add_node(osmium.osm.mutable.Node(
                    id=node_id, location=(-122.30 + j * 0.0012, 37.70 + i * 0.0009)))
                node_id += 1
        for i in range(grid):
            for j in range(grid):
                tags = {"addr:housenumber": str(100 + j * 2), "addr:street": f"{i + 1}th Street"}
                if (i * grid + j) % 10 == 0:
                    tags.update(shop="convenience", name=f"Corner Market {i}-{j}")
                writer.add_node(osmium.osm.mutable.Node(
                    id=node_id, location=(-122.30 + j * 0.0012 + 0.0003,
                                          37.70 + i * 0.0009 + 0.0001), tags=tags))
                node_id += 1
        way_id = 1
        for i in range(grid):
            writer.add_way(osmium.osm.mutable.Way(
                id=way_id, nodes=[ids[(i, j)] for j in range(grid)],
                tags={"highway": "residential", "name": f"{i + 1}th Street"}))
            way_id += 1
        for j in range(grid):
            writer.add_way(osmium.osm.mutable.Way(
                id=way_id, nodes=[ids[(i, j)] for i in range(grid)],
                tags={"highway": "residential", "name": f"Avenue {j + 1}"}))
            way_id += 1
    finally:
        writer.close()
    return node_id - 1


def run(args: list[str], env: dict[str, str]) -> tuple[str, float, float]:
    """(stdout, wall seconds, peak MB) of a `hotline` process."""
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "hotline.cli", *args], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=3600, check=True)
    wall = time.monotonic() - started
    peak = float(re.search(r"peak memory (\d+) MB", result.stdout).group(1)) \
        if "peak memory" in result.stdout else 0.0
    return result.stdout, wall, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=300, help="synthetic town: grid x grid")
    options = parser.parse_args()
    from tests.test_geo_import import alameda_config

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        config = alameda_config(base)
        county = base / "county.osm.pbf"
        nodes = synthetic(county, options.grid)
        extracts = [("west-oakland (real)", EXTRACT), (f"synthetic {nodes:,} nodes", county)]
        for label, extract in extracts:
            instance = base / f"instance-{len(rows)}"
            env = {k: v for k, v in os.environ.items() if not k.startswith(
                ("HOTLINE_", "DATABASE_URL", "REDIS_URL"))}
            env.update(HOTLINE_INSTANCE=str(instance), HOTLINE_CONFIG_DIR=str(config))
            run(["db", "upgrade"], env)
            run(["config", "load"], env)
            out, wall, peak = run(["geo", "import", str(extract), "--jurisdiction",
                                   "alameda-county"], env)
            stored = int(re.search(r"stored (\d+) features", out).group(1))
            build, triage = _gazetteer_cost(instance, config)
            started = time.monotonic()
            run(["triage", "--from", "+15105550111", "ICE at 7th and Wood in West Oakland"], env)
            cold = time.monotonic() - started
            rows.append((label, extract.stat().st_size / 1e6, stored, wall, peak, build,
                         triage, cold))
            shutil.rmtree(instance, ignore_errors=True)
    print(f"{'extract':<28}{'MB':>8}{'features':>10}{'import s':>10}{'peak MB':>9}"
          f"{'gazetteer s':>13}{'triage ms':>11}{'cold triage s':>15}")
    for label, size, stored, wall, peak, build, triage, cold in rows:
        print(f"{label:<28}{size:>8.1f}{stored:>10}{wall:>10.1f}{peak:>9.0f}{build:>13.2f}"
              f"{triage:>11.2f}{cold:>15.2f}")
    real, county_row = rows
    print(f"RESULT geo_import real_s={real[3]:.2f} real_peak_mb={real[4]:.0f} "
          f"county_features={county_row[2]} county_s={county_row[3]:.1f} "
          f"county_peak_mb={county_row[4]:.0f} county_gazetteer_s={county_row[5]:.2f} "
          f"county_triage_ms={county_row[6]:.2f} county_cold_triage_s={county_row[7]:.2f}")


def _gazetteer_cost(instance: Path, config: Path) -> tuple[float, float]:
    """Seconds to build the gazetteer with the import, and ms to triage a corner in it."""
    code = (
        "import time;from hotline import create_app;"
        "from hotline.core.extensions import db;"
        "from hotline.incidents.geography import current_gazetteer;"
        "from hotline.triage import triage_text;"
        "app=create_app();ctx=app.app_context();ctx.push();t=time.perf_counter();"
        "g=current_gazetteer(db.session);b=time.perf_counter()-t;t=time.perf_counter();"
        "[triage_text('ICE at 7th and Wood in West Oakland',g,'+15105550100') for _ in range(50)];"
        "print(b,(time.perf_counter()-t)/50*1000)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOTLINE_", "DATABASE_URL"))}
    env.update(HOTLINE_INSTANCE=str(instance), HOTLINE_CONFIG_DIR=str(config))
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=600).stdout.split()
    return float(out[-2]), float(out[-1])


if __name__ == "__main__":
    main()
