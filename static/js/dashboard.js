// The operations dashboard's chart: tickets opened per service (uPlot, static/vendor), incident
// windows shaded behind the lines. Data comes from json_script elements in the board fragment;
// htmx replaces the fragment every poll, and the chart is drawn again from the new data.
(function () {
  "use strict";
  var PALETTE = ["#1f6feb", "#d97706", "#059669", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#6b7280"];
  var BAND = { 1: "rgba(217, 119, 6, 0.14)", 2: "rgba(220, 38, 38, 0.14)", 3: "rgba(153, 27, 27, 0.22)" };
  var chart = null;

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function bandsPlugin(bands) {
    return {
      hooks: {
        // Under the series: one translucent rectangle per incident window, the full plot height.
        drawClear: function (u) {
          var ctx = u.ctx, top = u.bbox.top, height = u.bbox.height;
          ctx.save();
          bands.forEach(function (b) {
            var x0 = u.valToPos(b.from, "x", true), x1 = u.valToPos(b.to, "x", true);
            ctx.fillStyle = BAND[b.severity] || BAND[2];
            ctx.fillRect(x0, top, Math.max(2, x1 - x0), height);
          });
          ctx.restore();
        },
      },
    };
  }

  // The zone's short name at a given instant ("CET", "EET", or "GMT+1" where a language has none).
  function zoneName(lang, tz, seconds) {
    try {
      var parts = new Intl.DateTimeFormat(lang, { timeZone: tz, timeZoneName: "short" }).formatToParts(new Date(seconds * 1000));
      var found = parts.filter(function (p) { return p.type === "timeZoneName"; })[0];
      return found ? found.value : (tz || "");
    } catch (e) {
      return tz || "";
    }
  }

  function draw() {
    var el = document.getElementById("volume-chart");
    if (!el || typeof uPlot === "undefined") return;
    var data = readJSON(el.dataset.chart), labels = readJSON(el.dataset.labels) || {};
    if (chart) { chart.destroy(); chart = null; }
    el.textContent = "";
    // The desk writes English the Nordic way (supportdesk/formats/en): day before month, 24 hours.
    var lang = document.documentElement.lang || "en";
    if (lang === "en") lang = "en-GB";
    var tz = el.dataset.timeZone || undefined;
    var hourly = data.step === "hour";
    // 24-hour clock in every language ("12:00 AM" is not how the desk reads time), and the zone
    // named once, on the axis and in the legend: "Time (CET)".
    var fmt = new Intl.DateTimeFormat(lang, hourly
      ? { weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: tz }
      : { day: "numeric", month: "short", timeZone: tz });
    var zone = zoneName(lang, tz, data.x.length ? data.x[data.x.length - 1] : Date.now() / 1000);
    var timeLabel = (labels.time || "") + (zone ? " (" + zone + ")" : "");
    var series = [{ label: timeLabel, value: function (u, v) { return v == null ? "" : fmt.format(new Date(v * 1000)); } }];
    var columns = [data.x];
    data.series.forEach(function (s, i) {
      var colour = PALETTE[i % PALETTE.length];
      series.push({ label: s.label, stroke: colour, width: 2, points: { show: false } });
      columns.push(s.data);
    });
    var width = Math.max(320, el.clientWidth || 800);
    chart = new uPlot({
      width: width,
      height: 300,
      series: series,
      tzDate: tz ? function (ts) { return uPlot.tzDate(new Date(ts * 1000), tz); } : undefined,
      axes: [
        // Wide spacing: a localised "ons 16:00" needs room, and 1366 px must not overlap labels.
        { space: 110, label: timeLabel, values: function (u, splits) { return splits.map(function (v) { return fmt.format(new Date(v * 1000)); }); } },
        // Tickets are whole: no 0.2 steps on the count axis.
        { label: labels.tickets || "", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000] },
      ],
      scales: { y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } } },
      plugins: [bandsPlugin(data.bands || [])],
    }, columns, el);
    // For people and tests alike: how much was drawn.
    el.dataset.points = String(data.x.length * data.series.length);
    el.dataset.bands = String((data.bands || []).length);
    el.dataset.zone = zone;
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.body.addEventListener("htmx:afterSettle", function (e) {
    if (e.target && e.target.id === "board") draw();
  });
  window.addEventListener("resize", function () {
    var el = document.getElementById("volume-chart");
    if (chart && el) chart.setSize({ width: Math.max(320, el.clientWidth), height: 300 });
  });
})();
