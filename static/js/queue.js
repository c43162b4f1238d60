// A live queue: when the alert socket hints that this queue changed (alerts.js dispatches
// "supportdesk:queue-changed"), re-read the page and swap in its rows. Not while the agent is
// working in the list (tickets ticked or a row selected with j/k): then a notice offers the refresh.
(function () {
  "use strict";

  var rows = document.getElementById("queue-rows");
  if (!rows) return;
  var queue = rows.dataset.queue || "";
  var stale = document.getElementById("queue-stale");
  var DELAY_MS = 1500; // longer than the server's hint window (notifications/services.py)
  var timer = null;

  function busy() {
    return !!document.querySelector("#queue-rows input[type=checkbox]:checked, #queue-rows .nav-selected");
  }

  function reload() {
    timer = null;
    if (busy()) {
      if (stale) stale.hidden = false;
      return;
    }
    fetch(window.location.href, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("queue-rows");
        if (fresh && !busy()) {
          rows.replaceWith(fresh);
          rows = fresh;
          if (stale) stale.hidden = true;
        }
      })
      .catch(function () { if (stale) stale.hidden = false; });
  }

  document.addEventListener("supportdesk:queue-changed", function (event) {
    if (event.detail !== "*" && queue && event.detail !== queue) return;
    if (!timer) timer = window.setTimeout(reload, DELAY_MS);
  });
})();
