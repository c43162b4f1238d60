// Keyboard-first for staff. Shortcuts are declared in the templates with data-key="x" on the element
// they act on (a button is clicked, a field focused, a <details> opened); j/k move through the rows of
// a list marked data-nav-row, Enter or o opens the selected one; ? shows the cheat-sheet (#shortcuts).
// Keys typed into a field are the field's own; Escape leaves the field.
(function () {
  "use strict";

  var selected = -1;

  function typingInField(target) {
    return target.closest && target.closest("input, textarea, select, [contenteditable=true]");
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-nav-row]"));
  }

  function select(index) {
    var all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row, i) { row.classList.toggle("nav-selected", i === selected); });
    all[selected].scrollIntoView({ block: "nearest" });
  }

  function openSelected() {
    var row = rows()[selected];
    var link = row && row.querySelector("a[href]");
    if (link) window.location.href = link.href;
  }

  function arm(button) {
    // r / n: the reply box, with the button that Ctrl+Enter will press.
    document.querySelectorAll("[data-armed]").forEach(function (b) { b.removeAttribute("data-armed"); });
    button.setAttribute("data-armed", "");
    var box = button.form && button.form.querySelector("textarea");
    if (box) box.focus();
  }

  function act(element) {
    if (element.tagName === "DETAILS") {
      element.open = true;
      var first = element.querySelector("input, textarea, select");
      if (first) first.focus();
    } else if (element.hasAttribute("data-arms")) {
      arm(element);
    } else if (element.matches("input, textarea, select")) {
      element.focus();
      if (element.select) element.select();
    } else {
      element.click();
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey) return;
    var field = typingInField(event.target);
    if (field) {
      if (event.key === "Escape") field.blur();
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && field.form) {
        var armed = field.form.querySelector("[data-armed]") || field.form.querySelector("button[type=submit]");
        if (armed) { event.preventDefault(); armed.click(); }
      }
      return;
    }
    if (event.ctrlKey || event.metaKey) return;
    var sheet = document.getElementById("shortcuts");
    if (event.key === "?") {
      if (sheet && sheet.showModal && !sheet.open) { event.preventDefault(); sheet.showModal(); }
      return;
    }
    if (event.key === "j" || event.key === "k") {
      if (rows().length) { event.preventDefault(); select(selected + (event.key === "j" ? 1 : -1)); }
      return;
    }
    if ((event.key === "Enter" || event.key === "o") && selected >= 0) {
      event.preventDefault();
      openSelected();
      return;
    }
    var target = document.querySelector('[data-key="' + (event.key === "/" ? "/" : event.key.toLowerCase()) + '"]');
    if (target && event.key.length === 1) {
      event.preventDefault();
      act(target);
    }
  });

  document.addEventListener("click", function (event) {
    var close = event.target.closest && event.target.closest("[data-close-dialog]");
    if (close) close.closest("dialog").close();
  });
})();
