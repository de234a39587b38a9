/* Hotline dashboard: live regions polled with ETags, a community alert's progress, ages that
   keep counting, confirmations.
   No inline scripts anywhere (the Content-Security-Policy allows only this origin's files). */
(function () {
  "use strict";

  const UNVERIFIED = ["new", "verifying", "unconfirmed"];
  const VERIFIED = ["verified", "routed", "acknowledged"];

  // What this script writes into pages, in English; the page's words in its language come as
  // JSON in <script type="application/json" id="ui-texts"> (dashboard/_ui_texts.html).
  const ENGLISH = {
    live_checked: "Live · checked %(time)s",
    offline: "Offline: showing the last version received. Retrying…",
    cue_new: "new",
    cue_verified: "✓ verified just now",
    new_incident: "New incident %(code)s",
    incident_verified: "Incident %(code)s verified",
    status_now: "Status is now %(status)s",
    reverify: "Re-verify",
    accepted_by: "Accepted by %(name)s: nothing to answer.",
    not_waiting: "Not waiting for a lawyer any more: nothing to answer.",
    alert_now: "The alert is now %(status)s: %(sent)s sent, %(delivered)s delivered, %(failed)s failed"
  };
  let pageTexts = null;

  function uiTexts() {
    if (pageTexts === null) {
      pageTexts = {};
      const el = document.getElementById("ui-texts");
      if (el) {
        try {
          const parsed = JSON.parse(el.textContent || "{}");
          if (parsed && typeof parsed === "object") { pageTexts = parsed; }
        } catch (error) { pageTexts = {}; }
      }
    }
    return pageTexts;
  }

  // A text by its key, in the page's language (else `english[key]`), its %(name)s filled
  // from `values` (as text: whatever comes from data is set with textContent, never as HTML).
  function words(english, key, values) {
    const given = uiTexts()[key];
    const template = typeof given === "string" ? given : english[key];
    return template.replace(/%\((\w+)\)[sd]/g, function (whole, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function t(key, values) { return words(ENGLISH, key, values); }

  function announce(text) {
    const region = document.getElementById("announcer");
    if (region) { region.textContent = text; }
  }

  function formatAge(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) { return seconds + " s"; }
    if (seconds < 3600) { return Math.floor(seconds / 60) + " min"; }
    if (seconds < 86400) {
      const minutes = String(Math.floor(seconds % 3600 / 60)).padStart(2, "0");
      return Math.floor(seconds / 3600) + " h " + minutes + " min";
    }
    return Math.floor(seconds / 86400) + " d " + Math.floor(seconds % 86400 / 3600) + " h";
  }

  // for the map's script (map.js): one announcer, one way of writing ages, the page's words
  window.Hotline = Object.freeze({ announce: announce, formatAge: formatAge, words: words });

  function refreshAges(root) {
    const now = Date.now();
    root.querySelectorAll("time[data-age]").forEach(function (el) {
      const at = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(at)) { el.textContent = formatAge((now - at) / 1000); }
    });
  }

  function statuses(root) {
    const seen = new Map();
    root.querySelectorAll("[data-code][data-status]").forEach(function (el) {
      seen.set(el.dataset.code, el.dataset.status);
    });
    root.querySelectorAll("[data-testid=status][data-status]").forEach(function (el) {
      seen.set("#page", el.dataset.status);
    });
    return seen;
  }

  function addCue(el, text) {
    const cue = document.createElement("span");
    cue.className = "cue";
    cue.textContent = text;
    const cell = el.querySelector("td:nth-child(2)") || el.parentElement || el;
    cell.appendChild(cue);
  }

  const CUE_MS = 60000;  // a cue stays for a minute, across later updates of the region

  // Remember what changed since the last version: new incidents, and newly verified ones.
  function noteChanges(root, before, cues) {
    const messages = [];
    const until = Date.now() + CUE_MS;
    root.querySelectorAll("[data-code][data-status]").forEach(function (row) {
      const code = row.dataset.code;
      const status = row.dataset.status;
      const old = before.get(code);
      if (old === undefined) {
        cues.set(code, { kind: "is-new", text: t("cue_new"), until: until });
        messages.push(t("new_incident", { code: code }));
      } else if (UNVERIFIED.includes(old) && VERIFIED.includes(status)) {
        cues.set(code, { kind: "just-verified", text: t("cue_verified"), until: until });
        messages.push(t("incident_verified", { code: code }));
      }
    });
    const badge = root.querySelector("[data-testid=status][data-status]");
    const oldPage = before.get("#page");
    if (badge && oldPage !== undefined && oldPage !== badge.dataset.status) {
      messages.push(t("status_now", { status: badge.textContent.trim() }));
    }
    if (messages.length) { announce(messages.join(". ")); }
  }

  function applyCues(root, cues) {
    const now = Date.now();
    root.querySelectorAll("[data-code][data-status]").forEach(function (row) {
      const cue = cues.get(row.dataset.code);
      if (!cue) { return; }
      if (cue.until < now) { cues.delete(row.dataset.code); return; }
      if (!row.classList.contains(cue.kind)) {
        row.classList.add(cue.kind);
        addCue(row, cue.text);
      }
    });
  }

  // An incident's page: when someone else acts, the decisions offered follow the new state
  // (the live fragment says which), and a lawyer's Accept goes once the incident is not
  // waiting for a lawyer any more. The note being typed is left alone.
  const DECISIONS = ["verify", "dismiss", "reverify", "resolve", "all_clear"];
  function followState(root) {
    const state = root.querySelector("[data-offered]");
    if (!state) { return; }
    const offered = new Set(state.dataset.offered.split(" ").filter(Boolean));
    const status = state.dataset.incidentStatus;
    document.querySelectorAll("form.decide button[name=action]").forEach(function (button) {
      if (DECISIONS.indexOf(button.value) >= 0) { button.hidden = !offered.has(button.value); }
      if (button.value === "reverify" && (status === "routed" || status === "acknowledged")) {
        button.textContent = t("reverify");  // a lawyer has it: verifiers look again
        button.dataset.confirm = button.dataset.recheckConfirm;
      }
    });
    const answer = document.querySelector("[data-lawyer-answer]");
    if (answer && state.dataset.incidentStatus !== "routed") {
      answer.querySelectorAll("[data-answer-buttons]").forEach(function (row) { row.hidden = true; });
      const gone = answer.querySelector("[data-testid=answer-gone]");
      const taken = answer.querySelector("[data-testid=taken-by]");
      if (gone && !taken) {
        gone.hidden = false;
        gone.textContent = state.dataset.takenBy
          ? t("accepted_by", { name: state.dataset.takenBy })
          : t("not_waiting");
      }
    }
  }

  function poll(region) {
    const url = region.dataset.liveUrl;
    const interval = parseInt(region.dataset.interval || "1500", 10);
    const state = document.querySelector("[data-live-state]");
    const cues = new Map();
    let etag = region.dataset.etag ? '"' + region.dataset.etag + '"' : null;

    async function tick() {
      try {
        const headers = { "Accept": "text/html" };
        if (etag) { headers["If-None-Match"] = etag; }
        const response = await fetch(url, { headers: headers, credentials: "same-origin", cache: "no-store" });
        if (response.status === 401) { window.location.reload(); return; }
        if (response.status === 200) {
          const before = statuses(region);
          region.innerHTML = await response.text();
          etag = response.headers.get("ETag");
          noteChanges(region, before, cues);
          followState(region);
        }
        applyCues(region, cues);
        if (state) { state.classList.remove("offline"); state.textContent = t("live_checked", { time: new Date().toLocaleTimeString() }); }
      } catch (error) {
        if (state) { state.classList.add("offline"); state.textContent = t("offline"); }
      }
      refreshAges(region);
      window.setTimeout(tick, interval);
    }
    window.setTimeout(tick, interval);
  }

  // A community alert's page: its status and counts as JSON (ETags), written into the page in
  // place; what only applies while sending ("Stop sending") hides when sending ends, and a
  // draft's page loads again once the draft is sent or dropped (by another dispatcher too).
  function progress(region) {
    const url = region.dataset.progressUrl;
    const interval = parseInt(region.dataset.interval || "2000", 10);
    const state = document.querySelector("[data-live-state]");
    let etag = region.dataset.etag ? '"' + region.dataset.etag + '"' : null;
    let status = region.dataset.status;

    function show(data) {
      Object.keys(data.counts).forEach(function (name) {
        region.querySelectorAll("[data-count='" + name + "']").forEach(function (el) {
          el.textContent = String(data.counts[name]);
        });
      });
      region.querySelectorAll("[data-count=approvals]").forEach(function (el) {
        el.textContent = String(data.approvals);
      });
      const bar = region.querySelector("progress[data-progress]");
      if (bar) {
        bar.max = Math.max(1, data.counts.total);
        bar.value = data.counts.total - data.counts.queued;
      }
      region.querySelectorAll("[data-testid=broadcast-status]").forEach(function (el) {
        el.dataset.status = data.status;
        el.className = "badge big broadcast-" + data.status;
        el.textContent = data.status_label;
      });
      region.querySelectorAll("[data-while]").forEach(function (el) {
        el.hidden = !el.dataset.while.split(" ").includes(data.status);
      });
      region.dataset.status = data.status;
    }

    async function tick() {
      try {
        const headers = { "Accept": "application/json" };
        if (etag) { headers["If-None-Match"] = etag; }
        const response = await fetch(url, { headers: headers, credentials: "same-origin", cache: "no-store" });
        if (response.status === 401) { window.location.reload(); return; }
        if (response.status === 200) {
          const data = await response.json();
          etag = response.headers.get("ETag");
          const unless = region.dataset.reloadUnless;
          if (unless && data.status !== unless) { window.location.reload(); return; }
          show(data);
          if (data.status !== status) {
            announce(t("alert_now", { status: data.status_label, sent: data.counts.sent,
                                      delivered: data.counts.delivered, failed: data.counts.failed }));
            status = data.status;
          }
        }
        if (state) { state.classList.remove("offline"); state.textContent = t("live_checked", { time: new Date().toLocaleTimeString() }); }
      } catch (error) {
        if (state) { state.classList.add("offline"); state.textContent = t("offline"); }
      }
      window.setTimeout(tick, interval);
    }
    window.setTimeout(tick, interval);
  }

  function confirmations() {
    document.addEventListener("click", function (event) {
      const button = event.target.closest("button[data-confirm]");
      if (button && !window.confirm(button.dataset.confirm)) { event.preventDefault(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    confirmations();
    refreshAges(document);
    document.querySelectorAll("[data-live-url]").forEach(poll);
    document.querySelectorAll("[data-progress-url]").forEach(progress);
    window.setInterval(function () { refreshAges(document); }, 30000);
  });
}());
