// The console home's counts, refreshed every 30 seconds from its JSON twin
// (data-counts-url). Progressive enhancement: without this script the page
// shows the counts as of its loading. The Content-Security-Policy allows
// scripts from this site's static files only; texts come from the page's
// data- attributes, already in the reader's language.
"use strict";

(function () {
  var PERIOD_MS = 30000;

  function timeNow() {
    var lang = document.documentElement.lang || undefined;
    return new Date().toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function setText(element, text) {
    if (element && element.textContent !== String(text)) {
      element.textContent = String(text);
    }
  }

  function showCounts(home, data) {
    var counts = data.counts || {};
    var notes = data.notes || {};
    home.querySelectorAll("[data-count-key]").forEach(function (item) {
      var key = item.getAttribute("data-count-key");
      if (!Object.prototype.hasOwnProperty.call(counts, key)) {
        return;
      }
      setText(item.querySelector("[data-count-value]"), counts[key]);
      item.classList.toggle("console-count-due", Number(counts[key]) > 0);
      if (notes[key]) {
        setText(item.querySelector("[data-count-note]"), notes[key]);
      }
    });
  }

  function showPanels(home, data) {
    var panels = data.panels || {};
    home.querySelectorAll("[data-panel-key]").forEach(function (panel) {
      var rows = panels[panel.getAttribute("data-panel-key")] || [];
      rows.forEach(function (row) {
        var line = panel.querySelector('[data-row-id="' + String(row.id) + '"]');
        if (!line) {
          return;
        }
        Object.keys(row).forEach(function (field) {
          setText(line.querySelector('[data-field="' + field + '"]'), row[field]);
        });
      });
    });
  }

  var lastOk = timeNow();

  function refresh(home) {
    var note = home.querySelector("[data-refreshed]");
    fetch(home.getAttribute("data-counts-url"), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store",
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        showCounts(home, data);
        showPanels(home, data);
        lastOk = timeNow();
        setText(note, note.getAttribute("data-live-text") + " " + lastOk);
      })
      .catch(function () {
        setText(note, note.getAttribute("data-stale-text") + " " + lastOk);
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var home = document.getElementById("console-home");
    if (!home || !window.fetch) {
      return;
    }
    var note = home.querySelector("[data-refreshed]");
    setText(note, note.getAttribute("data-live-text") + " " + lastOk);
    window.setInterval(function () {
      if (!document.hidden) {
        refresh(home);
      }
    }, PERIOD_MS);
  });
})();
