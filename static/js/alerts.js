// Live alerts for staff: a websocket to /ws/alerts/ that catches up from the last alert this browser
// saw, dedupes by id, shows a toast per incident alert and refreshes the incident banner.
// Every word shown comes from #alerts-config (rendered with {% translate %}) or from the server.
(function () {
  "use strict";

  var config = document.getElementById("alerts-config");
  if (!config || !window.WebSocket) return;
  var data = config.dataset;
  var lang = (document.documentElement.lang || "en").slice(0, 2);
  var storageKey = "supportdesk.alerts.lastId." + (data.userId || "");
  var toasts = document.getElementById("alert-toasts");
  var offline = document.getElementById("alerts-offline");

  var seen = new Set(); // ids already handled by this page: pushes are at-least-once
  var lastId = readLastId();
  var socket = null;
  var attempt = 0;
  var stopped = false;
  var bannerTimer = null;
  // Say hello again this often while connected: the server re-joins this socket to its groups
  // (a Redis restart forgets them, leaving an open but deaf socket) and sends what was missed.
  var RESYNC_MS = 15000;
  var resyncTimer = null;
  var freshConnection = false;

  function readLastId() {
    try {
      var raw = window.localStorage.getItem(storageKey);
      return raw === null ? null : parseInt(raw, 10) || 0;
    } catch (e) {
      return null;
    }
  }

  function rememberLastId(id) {
    if (lastId !== null && id <= lastId) return;
    lastId = id;
    try {
      window.localStorage.setItem(storageKey, String(id));
    } catch (e) {
      /* private mode: this page still dedupes in memory */
    }
  }

  function label(name) {
    return data["label" + name.replace(/(^|-)([a-z])/g, function (_, __, c) { return c.toUpperCase(); })] || "";
  }

  function inLanguage(texts) {
    if (!texts) return "";
    return texts[lang] || texts.en || Object.values(texts)[0] || "";
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  // --- the socket ---------------------------------------------------------------------------------

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + data.wsPath);
    socket.onopen = function () {
      attempt = 0;
      freshConnection = true;
      if (offline) offline.hidden = true;
      send({ type: "hello", last_id: lastId, lang: lang });
      window.clearInterval(resyncTimer);
      resyncTimer = window.setInterval(function () {
        send({ type: "hello", last_id: lastId, lang: lang });
      }, RESYNC_MS);
    };
    socket.onmessage = function (event) {
      var message;
      try {
        message = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (message.type === "alert") handleAlert(message.alert, !!message.catch_up);
      else if (message.type === "queue-changed") {
        // For the queue page (static/js/queue.js), which decides whether and when to re-read.
        document.dispatchEvent(new CustomEvent("supportdesk:queue-changed", { detail: message.queue }));
      }
      else if (message.type === "caught-up") {
        var changed = lastId === null || (message.last_id || 0) > lastId;
        rememberLastId(message.last_id || 0);
        // State, not replay: whatever happened while away is on the banner.
        if (changed || freshConnection) refreshBanner();
        freshConnection = false;
      }
    };
    socket.onclose = function (event) {
      socket = null;
      window.clearInterval(resyncTimer);
      if (event.code === 4403) {
        stopped = true; // not allowed: reconnecting would not help
        return;
      }
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    if (stopped) return;
    attempt += 1;
    if (offline && attempt > 1) {
      offline.textContent = label("offline");
      offline.hidden = false;
    }
    // Exponential backoff with jitter, capped at 10 s, so a restarted server is not stampeded.
    var delay = Math.min(10000, 500 * Math.pow(2, attempt - 1));
    window.setTimeout(connect, delay / 2 + Math.random() * (delay / 2));
  }

  // --- alerts -------------------------------------------------------------------------------------

  function handleAlert(alert, catchUp) {
    if (!alert || typeof alert.id !== "number" || seen.has(alert.id)) return;
    seen.add(alert.id);
    rememberLastId(alert.id);
    send({ type: "receipt", alert_id: alert.id, state: "delivered" });
    if (alert.kind !== "ticket-matched") scheduleBannerRefresh();
    showToast(alert);
  }

  function scheduleBannerRefresh() {
    // Many alerts at once (catch-up) make one request.
    if (bannerTimer) window.clearTimeout(bannerTimer);
    bannerTimer = window.setTimeout(refreshBanner, 150);
  }

  function refreshBanner() {
    bannerTimer = null;
    // Panels that show incidents (hx-trigger="incidents-changed from:body") refresh themselves too.
    document.body.dispatchEvent(new CustomEvent("incidents-changed"));
    if (!document.getElementById("incident-banner")) return;
    if (window.htmx) {
      window.htmx.ajax("GET", data.bannerUrl, { target: "#incident-banner", swap: "innerHTML" });
    }
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function showToast(alert) {
    if (!toasts) return;
    var incident = alert.incident || {};
    // One toast per incident: a newer alert replaces the older one, and "your ticket matched" joins
    // the incident's toast instead of repeating its script.
    var key = "incident-" + incident.id;
    var old = toasts.querySelector('[data-key="' + key + '"]');
    if (alert.kind === "ticket-matched" && old && !old.classList.contains("acknowledged")) {
      addTicketLine(old, alert);
      whenVisible(function () { send({ type: "receipt", alert_id: alert.id, state: "seen" }); });
      return;
    }
    var tickets = old ? old.querySelector(".toast-tickets") : null;
    // Resolved or withdrawn: no ETA and no script any more. Withdrawn also says to stop telling
    // customers about it, and why it was withdrawn.
    var over = alert.kind === "incident-resolved" || alert.kind === "incident-withdrawn";

    var toast = element("section", "toast kind-" + (incident.kind || "") + " " + alert.kind);
    toast.setAttribute("role", alert.kind === "incident-resolved" ? "status" : "alert");
    toast.dataset.key = key;
    // Acknowledging the toast acknowledges what it replaced too (e.g. a matched ticket's alert).
    toast.dataset.alertIds = (old && !old.classList.contains("acknowledged") ? old.dataset.alertIds + "," : "") + alert.id;

    var head = element("div", "toast-head");
    head.appendChild(element("span", "pill " + (incident.kind || ""), label(incident.kind || "")));
    head.appendChild(element("span", "toast-what", label(alert.kind)));
    var dismiss = element("button", "toast-dismiss", "×");
    dismiss.type = "button";
    dismiss.setAttribute("aria-label", label("dismiss"));
    dismiss.addEventListener("click", function () { toast.remove(); });
    head.appendChild(dismiss);
    toast.appendChild(head);

    var title = element("h3");
    if (data.incidentUrl && incident.id) {
      var link = element("a", null, incident.title || "");
      link.href = data.incidentUrl.replace("/0/", "/" + incident.id + "/");
      link.title = label("open");
      title.appendChild(link);
    } else {
      title.textContent = incident.title || "";
    }
    toast.appendChild(title);

    // Written out by the server in this viewer's zone and language (core.times), zone named.
    if (incident.eta_text && !over) {
      toast.appendChild(element("p", "toast-eta", label("eta") + " " + incident.eta_text));
    }
    var update = alert.update ? inLanguage(alert.update.message) : "";
    if (update) toast.appendChild(element("p", "toast-update", update));
    var script = inLanguage(incident.agent_script) || inLanguage(incident.public_message);
    if (alert.kind === "incident-withdrawn") {
      toast.appendChild(element("p", "toast-withdrawn", label("withdrawn-say")));
      if (alert.reason) toast.appendChild(element("p", "toast-update", alert.reason));
    }
    if (alert.kind === "incident-proposed" && alert.proposal) {
      // Not declared yet: the numbers that triggered it, not a script for customers.
      toast.appendChild(element("p", "toast-update", inLanguage(alert.proposal.summary)));
      script = "";
    }
    if (script && !over) {
      toast.appendChild(element("p", "toast-say", label("say")));
      toast.appendChild(element("div", "script", script));
    }
    toast.appendChild(tickets || element("ul", "toast-tickets"));
    if (alert.kind === "ticket-matched") addTicketLine(toast, alert);

    var actions = element("div", "toast-actions");
    var ack = element("button", "primary", label("ack"));
    ack.type = "button";
    ack.addEventListener("click", function () { acknowledge(ack, toast); });
    actions.appendChild(ack);
    toast.appendChild(actions);

    if (old) old.replaceWith(toast);
    else toasts.appendChild(toast);
    whenVisible(function () { send({ type: "receipt", alert_id: alert.id, state: "seen" }); });
  }

  function addTicketLine(toast, alert) {
    var list = toast.querySelector(".toast-tickets");
    if (!alert.ticket || !list || list.querySelector('[data-ticket="' + alert.ticket.id + '"]')) return;
    var line = element("li", null, label("ticket-matched") + ": " + alert.ticket.reference);
    line.dataset.ticket = String(alert.ticket.id);
    list.appendChild(line);
    toast.dataset.alertIds += "," + alert.id;
  }

  function whenVisible(callback) {
    if (document.visibilityState === "visible") return callback();
    document.addEventListener("visibilitychange", function onChange() {
      if (document.visibilityState !== "visible") return;
      document.removeEventListener("visibilitychange", onChange);
      callback();
    });
  }

  function acknowledge(button, toast) {
    button.disabled = true;
    // Every alert folded into this toast (the incident's and any matched tickets') is acknowledged.
    var posts = toast.dataset.alertIds.split(",").map(function (id) {
      return window.fetch(data.ackUrl.replace("/0/", "/" + id + "/"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken() },
      }).then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
      });
    });
    Promise.all(posts)
      .then(function () {
        button.replaceWith(element("span", "ack-done", label("acked")));
        toast.classList.add("acknowledged");
        window.setTimeout(function () { toast.remove(); }, 4000);
      })
      .catch(function () {
        button.disabled = false;
      });
  }

  connect();
})();
