/* The maps: the open incidents (/map, updated live like the board) and one incident's reports
   with the verifiers near it (its page). Offline first: county and state outlines from the
   Census Bureau's cartographic boundaries (vendored us-atlas, made into GeoJSON here with
   topojson-client); a street basemap only when one is configured (HOTLINE_TILE_URL, or the
   local PMTiles file read with pmtiles' Leaflet adapter). A point placed only to an area (a
   city, a ZIP code ...) is a translucent circle that says so, never a pin.
   Whatever comes from data reaches the page as text nodes, never as HTML. Without Leaflet
   (or JavaScript) the list below the map is the same information. */
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const URGENCY = ["new", "verifying", "verified", "routed", "acknowledged"];
  const PIN_WIDTH = 26;
  const PIN_HEIGHT = 36;  // the tip, at the bottom centre, is the point's coordinates
  const MIN_CIRCLE_PX = 9;  // an approximate circle stays visible when zoomed far out
  const EARTH_METRES = 40075016.686;
  // what the maps write, in English; the page's language comes with the page (dashboard.js)
  const ENGLISH = {
    live_checked: "Live · checked %(time)s",
    offline: "Offline: showing the last version received. Retrying…",
    ago: "%(age)s ago",
    incident_label: "Incident %(code)s: %(status)s, %(precision)s",
    incident_label_place: "Incident %(code)s: %(status)s, %(precision)s, %(place)s",
    first_report: "first report %(ago)s",
    report_label: "Report #%(report)s: %(precision)s",
    report_label_place: "Report #%(report)s: %(precision)s, %(place)s",
    report_link: "Report #%(report)s",
    cluster_part: "%(count)s %(status)s",
    cluster_label: "%(count)s close together (%(parts)s): zoom in to see each",
    verifier_label: "Verifier %(name)s, %(distance)s from the incident (where they usually are)",
    verifier_popup: "verifier, %(distance)s from the incident, where they usually are",
    new_on_map: "New incident %(code)s on the map",
    outlines_credit: "Outlines: U.S. Census Bureau (us-atlas)",
    outlines_failed: "The county outlines could not be loaded; the points are still at their coordinates.",
    reader_missing: "The street map's reader did not load: outlines only.",
    pmtiles_failed: "The street map (PMTiles) could not be read: outlines only."
  };

  function node(tag, className, text) {
    const el = document.createElement(tag);
    if (className) { el.className = className; }
    if (text !== undefined && text !== null) { el.textContent = String(text); }
    return el;
  }

  function append(parent) {
    for (let i = 1; i < arguments.length; i++) {
      const child = arguments[i];
      if (child === null || child === undefined) { continue; }
      parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return parent;
  }

  // shared with the board's script (dashboard.js, which runs before DOMContentLoaded too)
  function announce(text) { window.Hotline.announce(text); }
  function formatAge(seconds) { return window.Hotline.formatAge(seconds); }
  function t(key, values) { return window.Hotline.words(ENGLISH, key, values); }

  function ago(iso) {
    const at = Date.parse(iso);
    return isNaN(at) ? "" : t("ago", { age: formatAge((Date.now() - at) / 1000) });
  }

  function coordinates(p) { return p.lat.toFixed(5) + ", " + p.lon.toFixed(5); }

  // -- what a status looks like ------------------------------------------------------------

  function statusLook(config, status) {
    const known = config.statuses[status] || {};
    return {
      key: known.glyph ? status : "other",  // the colour class: open statuses have their own
      glyph: known.glyph || "-",
      label: known.label || String(status).replace(/_/g, " ")
    };
  }

  function mostUrgent(statuses) {
    for (const status of URGENCY) { if (statuses.includes(status)) { return status; } }
    return statuses[0];
  }

  function pinSvg(glyph) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + PIN_WIDTH + " " + PIN_HEIGHT);
    svg.setAttribute("width", String(PIN_WIDTH));
    svg.setAttribute("height", String(PIN_HEIGHT));
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const body = document.createElementNS(SVG, "path");
    body.setAttribute("class", "pin-body");
    body.setAttribute("d", "M13 36 C10 30 1.5 21 1.5 13 A11.5 11.5 0 0 1 24.5 13 C24.5 21 16 30 13 36 Z");
    const text = document.createElementNS(SVG, "text");
    text.setAttribute("class", "pin-glyph");
    text.setAttribute("x", "13");
    text.setAttribute("y", "17.5");
    text.setAttribute("text-anchor", "middle");
    text.textContent = glyph;
    svg.appendChild(body);
    svg.appendChild(text);
    return svg;
  }

  // Leaflet's DivIcon with its `html` off (so it sets nothing as HTML), then our own elements
  function icons(L) {
    const Pin = L.DivIcon.extend({
      options: { html: false, iconSize: [PIN_WIDTH, PIN_HEIGHT], iconAnchor: [PIN_WIDTH / 2, PIN_HEIGHT],
                 popupAnchor: [0, -PIN_HEIGHT + 4], glyph: "-", label: "", data: {} },
      createIcon: function (old) {
        const div = L.DivIcon.prototype.createIcon.call(this, old);
        div.appendChild(pinSvg(this.options.glyph));
        div.title = this.options.label;
        div.setAttribute("aria-label", this.options.label);
        Object.keys(this.options.data).forEach(function (key) { div.dataset[key] = this.options.data[key]; }, this);
        return div;
      }
    });
    const Bubble = L.DivIcon.extend({  // a cluster, or a verifier
      options: { html: false, text: "", label: "", data: {} },
      createIcon: function (old) {
        const div = L.DivIcon.prototype.createIcon.call(this, old);
        if (this.options.text !== "") { div.appendChild(node("span", null, this.options.text)); }
        div.title = this.options.label;
        div.setAttribute("aria-label", this.options.label);
        Object.keys(this.options.data).forEach(function (key) { div.dataset[key] = this.options.data[key]; }, this);
        return div;
      }
    });
    return { Pin: Pin, Bubble: Bubble };
  }

  // -- what a point says -----------------------------------------------------------------

  function incidentUrl(config, code) {
    const template = config.incident_url;
    const at = template.lastIndexOf("CODE");
    return template.slice(0, at) + encodeURIComponent(code) + template.slice(at + 4);
  }

  // each kind of point: its id, status, name, and the lines of its popup
  function kinds(config) {
    return {
      incident: {
        id: function (p) { return p.code; },
        status: function (p) { return p.status; },
        label: function (p) {
          return t(p.place ? "incident_label_place" : "incident_label", {
            code: p.code, status: statusLook(config, p.status).label, precision: p.precision_label, place: p.place
          });
        },
        popup: function (p) {
          const look = statusLook(config, p.status);
          const link = node("a", null, p.code);
          link.href = incidentUrl(config, p.code);
          return append(node("div", "popup-item"),
            append(node("p", "popup-head"), link, " ", node("span", "badge status-" + look.key, look.label)),
            node("p", "meta", t("first_report", { ago: ago(p.since) })),
            p.place ? node("p", "popup-place", p.place) : null);
        }
      },
      report: {
        id: function (p) { return "report-" + p.report; },
        status: function () { return config.status; },
        label: function (p) {
          return t(p.place ? "report_label_place" : "report_label",
                   { report: p.report, precision: p.precision_label, place: p.place });
        },
        popup: function (p) {
          const link = node("a", null, t("report_link", { report: p.report }));
          link.href = "#report-" + p.report;
          return append(node("div", "popup-item"),
            append(node("p", "popup-head"), link),
            node("p", "meta", ago(p.at)),
            p.place ? node("p", "popup-place", p.place) : null);
        }
      }
    };
  }

  function popupFor(points, kind) {
    const box = node("div", "map-popup");
    points.forEach(function (p) { box.appendChild(kind.popup(p)); });
    const first = points[0];
    const where = node("p", "popup-precision" + (first.approximate ? " approximate" : ""), first.precision_label);
    box.appendChild(append(where, " · ", node("span", "coordinates", coordinates(first))));
    return box;
  }

  // -- the points ---------------------------------------------------------------------------

  function PointLayers(L, map, config, kind) {
    const self = this;
    const Icons = icons(L);
    this.pins = new Map();     // id -> marker
    this.circles = new Map();  // "precision|lat|lon" -> {layer, points}
    this.cluster = L.markerClusterGroup({
      maxClusterRadius: 40, showCoverageOnHover: false, spiderfyOnMaxZoom: true,
      iconCreateFunction: function (cluster) {
        const statuses = cluster.getAllChildMarkers().map(function (m) { return kind.status(m.point); });
        const counts = {};
        statuses.forEach(function (s) { counts[s] = (counts[s] || 0) + 1; });
        const parts = Object.keys(counts).map(function (s) {
          return t("cluster_part", { count: counts[s], status: statusLook(config, s).label });
        });
        const key = statusLook(config, mostUrgent(statuses)).key;
        return new Icons.Bubble({
          className: "cluster status-" + key, iconSize: [38, 38], text: String(statuses.length),
          label: t("cluster_label", { count: statuses.length, parts: parts.join(", ") }),
          data: { count: String(statuses.length) }
        });
      }
    }).addTo(map);
    this.approximate = L.featureGroup().addTo(map);
    map.on("zoomend", function () { self.circles.forEach(function (group) { self._radius(group); }); });

    this._pinIcon = function (p) {
      const look = statusLook(config, kind.status(p));
      return new Icons.Pin({
        className: "pin status-" + look.key, glyph: look.glyph, label: kind.label(p),
        data: { id: kind.id(p), code: p.code || "", status: kind.status(p), precision: p.precision }
      });
    };

    this._radius = function (group) {
      const lat = group.layer.getLatLng().lat;
      const metresPerPixel = EARTH_METRES * Math.abs(Math.cos(lat * Math.PI / 180)) / Math.pow(2, map.getZoom() + 8);
      group.layer.setRadius(Math.max(config.radius_m, MIN_CIRCLE_PX * metresPerPixel));
    };

    this._decorate = function (group) {
      const statuses = group.points.map(kind.status);
      const look = statusLook(config, mostUrgent(statuses));
      const first = group.points[0];
      const count = group.points.length;
      const text = first.precision_label + (count > 1 ? " · " + count : "");
      const label = text + ": " + group.points.map(kind.label).join("; ");
      const path = group.layer.getElement();
      if (path) {
        path.setAttribute("class", "leaflet-interactive approx status-" + look.key);
        path.setAttribute("role", "img");
        path.setAttribute("aria-label", label);
        path.dataset.ids = group.points.map(kind.id).join(" ");
        path.dataset.precision = first.precision;
        const title = path.querySelector("title") || path.appendChild(document.createElementNS(SVG, "title"));
        title.textContent = label;
      }
      group.layer.setTooltipContent(node("span", null, text));
    };

    // put the points on the map, moving, restyling or removing what is already there
    this.update = function (points) {
      const wanted = new Set();
      const groups = new Map();
      const restyled = [];
      points.forEach(function (p) {
        if (p.approximate) {
          const key = p.precision + "|" + p.lat.toFixed(5) + "|" + p.lon.toFixed(5);
          if (!groups.has(key)) { groups.set(key, []); }
          groups.get(key).push(p);
          return;
        }
        const id = kind.id(p);
        wanted.add(id);
        let marker = self.pins.get(id);
        if (!marker) {
          marker = L.marker([p.lat, p.lon], { icon: self._pinIcon(p), keyboard: true, riseOnHover: true });
          marker.point = p;
          marker.bindPopup(function () { return popupFor([marker.point], kind); });
          self.pins.set(id, marker);
          self.cluster.addLayer(marker);
          return;
        }
        const before = marker.point;
        marker.point = p;
        if (before.lat !== p.lat || before.lon !== p.lon) { marker.setLatLng([p.lat, p.lon]); }
        if (kind.label(before) !== kind.label(p) || kind.status(before) !== kind.status(p)) {
          marker.setIcon(self._pinIcon(p));
          restyled.push(marker);
        }
        if (marker.isPopupOpen()) { marker.getPopup().update(); }
      });
      self.pins.forEach(function (marker, id) {
        if (!wanted.has(id)) { self.cluster.removeLayer(marker); self.pins.delete(id); }
      });
      if (restyled.length) { self.cluster.refreshClusters(restyled); }
      groups.forEach(function (members, key) {
        let group = self.circles.get(key);
        if (!group) {
          const layer = L.circle([members[0].lat, members[0].lon], {
            radius: config.radius_m, className: "approx", interactive: true, bubblingMouseEvents: false
          });
          group = { layer: layer, points: members };
          layer.bindPopup(function () { return popupFor(group.points, kind); });
          // above the circle, which it would hide when zoomed out
          layer.bindTooltip(node("span"), { permanent: true, direction: "top", offset: [0, -MIN_CIRCLE_PX],
                                            className: "approx-label", interactive: false });
          self.circles.set(key, group);
          self.approximate.addLayer(layer);
          self._radius(group);
        }
        group.points = members;
        self._decorate(group);
        if (group.layer.isPopupOpen()) { group.layer.getPopup().update(); }
      });
      self.circles.forEach(function (group, key) {
        if (!groups.has(key)) { self.approximate.removeLayer(group.layer); self.circles.delete(key); }
      });
    };

    this.verifiers = function (verifiers) {
      const layer = L.featureGroup().addTo(map);
      verifiers.forEach(function (v) {
        const away = (v.distance_m / 1000).toFixed(1) + " km";
        const label = t("verifier_label", { name: v.name, distance: away });
        const marker = L.marker([v.lat, v.lon], {
          icon: new Icons.Bubble({ className: "verifier-dot", iconSize: [18, 18], label: label, data: { verifier: v.name } }),
          keyboard: true
        });
        marker.bindPopup(function () {
          return append(node("div", "map-popup"), append(node("p", "popup-head"), node("strong", null, v.name)),
                        node("p", "meta", t("verifier_popup", { distance: away })));
        });
        layer.addLayer(marker);
      });
      return layer;
    };
  }

  // -- the list below the map (the same incidents, for keyboards, screen readers, no JS) --

  function renderList(config, points) {
    const list = document.getElementById("map-list");
    if (!list) { return; }
    const items = points.map(function (p) {
      const look = statusLook(config, p.status);
      const link = node("a", null, p.code);
      link.href = incidentUrl(config, p.code);
      const li = append(node("li"), link, " ", node("span", "badge status-" + p.status, look.label), " ",
                        p.place || "—", " ",
                        node("span", "meta", "(" + p.precision_label + " · " + p.lat.toFixed(4) + ", " + p.lon.toFixed(4) + ")"));
      li.dataset.code = p.code;
      return li;
    });
    list.replaceChildren.apply(list, items);
    list.hidden = points.length === 0;
    const empty = document.getElementById("map-empty");
    if (empty) { empty.hidden = points.length !== 0; }
    const count = document.getElementById("map-count");
    if (count) { count.textContent = String(points.length); }
  }

  function poll(config, layers) {
    const live = config.live;
    const state = document.querySelector("[data-live-state]");
    let etag = live.etag ? '"' + live.etag + '"' : null;
    let known = new Set(config.points.map(function (p) { return p.code; }));

    async function tick() {
      try {
        const headers = { "Accept": "application/json" };
        if (etag) { headers["If-None-Match"] = etag; }
        const response = await fetch(live.url, { headers: headers, credentials: "same-origin", cache: "no-store" });
        if (response.status === 401) { window.location.reload(); return; }
        if (response.status === 200) {
          const points = (await response.json()).points || [];
          etag = response.headers.get("ETag");
          layers.update(points);
          renderList(config, points);
          const fresh = points.filter(function (p) { return !known.has(p.code); });
          if (fresh.length) {
            announce(fresh.map(function (p) { return t("new_on_map", { code: p.code }); }).join(". "));
          }
          known = new Set(points.map(function (p) { return p.code; }));
        }
        if (state) { state.classList.remove("offline"); state.textContent = t("live_checked", { time: new Date().toLocaleTimeString() }); }
      } catch (error) {
        if (state) { state.classList.add("offline"); state.textContent = t("offline"); }
      }
      window.setTimeout(tick, live.interval);
    }
    window.setTimeout(tick, live.interval);
  }

  // -- what lies beneath the points ---------------------------------------------------------

  function textCredit(text) {  // Leaflet shows an attribution as HTML: give it text
    const span = document.createElement("span");
    span.textContent = text;
    return span.innerHTML;
  }

  function note(element, text) {
    const p = node("p", "meta map-note", text);
    element.insertAdjacentElement("afterend", p);
  }

  function drawOutlines(L, map, config, element, streets) {
    const topojson = window.topojson;
    if (!config.outlines || !topojson) { element.dataset.outlines = "missing"; return; }
    fetch(config.outlines, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("outlines: HTTP " + response.status); }
        return response.json();
      })
      .then(function (us) {
        const line = function (geometry, className) {
          return L.geoJSON(geometry, { className: className, interactive: false, style: { fill: false } });
        };
        const layers = [];
        if (!streets) {  // no tiles: the land, so that coasts and lakes read as such
          layers.push(L.geoJSON(topojson.feature(us, us.objects.nation), {
            className: "outline-land", interactive: false, style: { stroke: false, fill: true, fillOpacity: 1 }
          }));
        }
        // county lines within a state; state lines; the coast and the borders
        layers.push(line(topojson.mesh(us, us.objects.counties, function (a, b) {
          return a !== b && String(a.id).slice(0, 2) === String(b.id).slice(0, 2);
        }), "outline-county"));
        layers.push(line(topojson.mesh(us, us.objects.states, function (a, b) { return a !== b; }), "outline-state"));
        layers.push(line(topojson.mesh(us, us.objects.nation), "outline-nation"));
        layers.reverse().forEach(function (layer) { layer.addTo(map); layer.bringToBack(); });
        map.attributionControl.addAttribution(textCredit(t("outlines_credit")));
        element.dataset.outlines = "drawn";
      })
      .catch(function () {
        element.dataset.outlines = "failed";
        note(element, t("outlines_failed"));
      });
  }

  function drawStreets(L, map, config, element) {
    const credit = textCredit(config.attribution || "");
    if (config.tiles) {
      L.tileLayer(config.tiles, { maxZoom: 19, attribution: credit }).addTo(map);
      return true;
    }
    if (!config.pmtiles) { return false; }
    if (!window.pmtiles) { note(element, t("reader_missing")); return false; }
    const archive = new window.pmtiles.PMTiles(config.pmtiles);
    archive.getHeader().then(function (header) {
      window.pmtiles.leafletRasterLayer(archive, {
        attribution: credit, maxZoom: 19, minZoom: header.minZoom, maxNativeZoom: header.maxZoom,
        bounds: L.latLngBounds([header.minLat, header.minLon], [header.maxLat, header.maxLon])
      }).addTo(map);
      element.dataset.basemap = "pmtiles";
    }).catch(function () {
      element.dataset.basemap = "failed";
      note(element, t("pmtiles_failed"));
    });
    return true;
  }

  function fit(map, latlngs, fallback, maxZoom) {
    if (latlngs.length === 1) { map.setView(latlngs[0], maxZoom); return; }
    if (latlngs.length) { map.fitBounds(latlngs, { maxZoom: maxZoom, padding: [32, 32] }); return; }
    fallback();
  }

  document.addEventListener("DOMContentLoaded", function () {
    const element = document.getElementById("map");
    const data = document.getElementById("map-data");
    const L = window.L;
    if (!element || !data || typeof L === "undefined" || typeof L.markerClusterGroup === "undefined") {
      if (element) { element.hidden = true; }
      return;
    }
    const config = JSON.parse(data.textContent || "{}");
    const streets = Boolean(config.tiles || config.pmtiles);
    const map = L.map(element, { maxZoom: streets ? 19 : 16, minZoom: 3 });
    window.hotlineMap = map;  // for the browser tests (and a curious dispatcher's console)
    const kind = kinds(config)[config.mode === "incident" ? "report" : "incident"];
    const layers = new PointLayers(L, map, config, kind);
    const points = config.points || [];
    const spots = points.map(function (p) { return [p.lat, p.lon]; });
    if (config.mode === "incident") {
      const verifiers = config.verifiers || [];
      fit(map, spots.concat(verifiers.map(function (v) { return [v.lat, v.lon]; })),
          function () { map.setView([39.5, -98.35], 4); }, 15);
      layers.update(points);
      layers.verifiers(verifiers);
    } else {
      const centres = (config.centres || []).map(function (c) { return [c.lat, c.lon]; });
      fit(map, spots, function () {
        fit(map, centres, function () { map.setView([39.5, -98.35], 4); }, 10);
      }, 13);
      layers.update(points);
      if (config.live) { poll(config, layers); }
    }
    drawStreets(L, map, config, element);
    drawOutlines(L, map, config, element, streets);
    element.dataset.ready = "yes";
  });
}());
