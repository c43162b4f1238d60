// Who else has this ticket open, and who is typing: a websocket to the ticket's presence route
// (tickets/consumers.py). The server keeps no roster; this page builds it from announcements and
// forgets anyone not heard from in three heartbeats. Words come from #presence (server-translated).
(function () {
  "use strict";

  var box = document.getElementById("presence");
  if (!box || !window.WebSocket) return;
  var data = box.dataset;
  var HEARTBEAT_MS = 20000;
  var FORGET_MS = 3 * HEARTBEAT_MS;
  var TYPING_IDLE_MS = 4000;
  var roster = new Map(); // user id → {name, state, heard}
  var me = null;
  var socket = null;
  var typing = false;
  var typingTimer = null;
  var attempt = 0;

  function render() {
    var now = Date.now();
    var parts = [];
    roster.forEach(function (entry, id) {
      if (now - entry.heard > FORGET_MS) { roster.delete(id); return; }
      parts.push(entry.state === "typing" ? entry.name + " (" + data.typing + ")" : entry.name);
    });
    box.hidden = parts.length === 0;
    box.textContent = parts.length ? data.alsoHere + " " + parts.join(", ") : "";
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + data.url);
    socket.onopen = function () { attempt = 0; };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "welcome") { me = message.you; return; }
      if (message.type !== "presence" || message.user.id === me) return;
      if (message.state === "left") roster.delete(message.user.id);
      else roster.set(message.user.id, { name: message.user.name, state: message.state, heard: Date.now() });
      render();
    };
    socket.onclose = function (event) {
      roster.clear();
      render();
      if (event.code === 4403) return; // not allowed: do not retry
      attempt += 1;
      window.setTimeout(connect, Math.min(30000, 1000 * Math.pow(2, attempt)));
    };
  }

  function setTyping(value) {
    if (value !== typing) { typing = value; send({ type: "typing", typing: value }); }
  }

  document.addEventListener("input", function (event) {
    if (!event.target.closest || !event.target.closest("[data-presence-typing]")) return;
    setTyping(true);
    window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(function () { setTyping(false); }, TYPING_IDLE_MS);
  });
  window.setInterval(function () { send({ type: "heartbeat" }); render(); }, HEARTBEAT_MS);
  connect();
})();
