/* The map of open incidents. Without Leaflet or tiles (offline), the list below still works. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    const element = document.getElementById("map");
    const data = document.getElementById("map-data");
    if (!element || !data || typeof window.L === "undefined") {
      if (element) { element.hidden = true; }
      return;
    }
    const points = JSON.parse(data.textContent || "[]");
    const map = window.L.map(element);
    // Leaflet renders an attribution as HTML: give it the setting as text
    const credit = document.createElement("span");
    credit.textContent = element.dataset.attribution || "";
    window.L.tileLayer(element.dataset.tileUrl, {
      maxZoom: 18, attribution: credit.innerHTML
    }).addTo(map);
    const bounds = [];
    points.forEach(function (p) {
      const marker = window.L.marker([p.lat, p.lon], { title: p.code + " " + p.status, alt: p.code });
      const link = document.createElement("a");
      link.href = "/incidents/" + encodeURIComponent(p.code);
      link.textContent = p.code + " — " + p.status + (p.place ? " — " + p.place : "");
      marker.bindPopup(link);
      marker.addTo(map);
      bounds.push([p.lat, p.lon]);
    });
    if (bounds.length) { map.fitBounds(bounds, { maxZoom: 13, padding: [24, 24] }); }
    else { map.setView([39.5, -98.35], 4); }
  });
}());
