#!/usr/bin/env bash
# Reproduce the map's vendored files under hotline/dashboard/static/vendor/ from the npm
# registry: Leaflet, leaflet.markercluster, topojson-client, pmtiles (with fflate, which its
# browser build bundles) and us-atlas's county topology (the U.S. Census Bureau's cartographic
# boundaries, unprojected longitude/latitude). Nothing is fetched at run time: Hotline serves
# these files itself (the Content-Security-Policy allows no other origin for scripts).
#
#   bash scripts/vendor_map.sh            # install into a temporary folder, copy, list versions
#
# To move to newer versions, change the pins below, run the script, read the diff of vendor/,
# run the browser tests (tests/browser/test_map_browser.py), and update the README's table.
set -euo pipefail

LEAFLET=1.9.4
MARKERCLUSTER=1.5.3
TOPOJSON_CLIENT=3.1.0
PMTILES=4.5.0
US_ATLAS=3.0.1

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vendor="$root/hotline/dashboard/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm init -y >/dev/null
npm install --no-save --ignore-scripts --no-audit --no-fund --loglevel=error \
    "leaflet@$LEAFLET" "leaflet.markercluster@$MARKERCLUSTER" \
    "topojson-client@$TOPOJSON_CLIENT" "pmtiles@$PMTILES" "us-atlas@$US_ATLAS"
modules="$work/node_modules"

copy() {  # copy SOURCE... DESTINATION-FOLDER (made fresh by the caller)
    local last="${*: -1}"
    cp "${@:1:$#-1}" "$last"
}

rm -rf "$vendor/leaflet" "$vendor/leaflet.markercluster" "$vendor/topojson-client" \
       "$vendor/pmtiles" "$vendor/us-atlas"
mkdir -p "$vendor/leaflet/images" "$vendor/leaflet.markercluster" "$vendor/topojson-client" \
         "$vendor/pmtiles" "$vendor/us-atlas"

copy "$modules/leaflet/dist/leaflet.js" "$modules/leaflet/dist/leaflet.css" \
     "$modules/leaflet/LICENSE" "$vendor/leaflet"
copy "$modules/leaflet/dist/images/"*.png "$vendor/leaflet/images"

# the plain MarkerCluster.css only: Hotline draws its own cluster icons (hotline.css), so
# MarkerCluster.Default.css (green/yellow/orange bubbles that look like statuses) is left out
copy "$modules/leaflet.markercluster/dist/leaflet.markercluster.js" \
     "$modules/leaflet.markercluster/dist/MarkerCluster.css" "$vendor/leaflet.markercluster"
cp "$modules/leaflet.markercluster/MIT-LICENCE.txt" "$vendor/leaflet.markercluster/LICENSE"

copy "$modules/topojson-client/dist/topojson-client.min.js" \
     "$modules/topojson-client/LICENSE" "$vendor/topojson-client"

# counties-10m.json holds the counties, the states (merged from the counties) and the nation,
# so states-10m.json would be the same state outlines a second time
copy "$modules/us-atlas/counties-10m.json" "$modules/us-atlas/LICENSE" "$vendor/us-atlas"

cp "$modules/pmtiles/dist/pmtiles.js" "$vendor/pmtiles/pmtiles.js"
cp "$modules/fflate/LICENSE" "$vendor/pmtiles/LICENSE-fflate"
# the npm package of pmtiles has no LICENSE file: this is the repository's (protomaps/PMTiles)
cat > "$vendor/pmtiles/LICENSE" <<'EOF'
The below license (BSD-3) applies to the reference implementations in this repository.

The PMTiles specification itself is public domain, or CC0 where applicable.

Sample tilesets available in this repository are subject to their own license terms.

---

Copyright 2021 Protomaps LLC

Redistribution and use in source and binary forms, with or without modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice, this list of conditions and the following disclaimer in the documentation and/or other materials provided with the distribution.

3. Neither the name of the copyright holder nor the names of its contributors may be used to endorse or promote products derived from this software without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
EOF

version() { node -p "require('$modules/$1/package.json').version"; }
{
    echo "# Written by scripts/vendor_map.sh: the npm packages these files come from."
    for package in leaflet leaflet.markercluster topojson-client pmtiles fflate us-atlas; do
        echo "$package $(version "$package")"
    done
} > "$vendor/VERSIONS"
cat "$vendor/VERSIONS"
