/*
 * escalportal's own behaviour: small, no framework, nothing inline (the CSP allows scripts
 * from 'self' only).
 *
 * - <span data-countdown="2026-01-01T12:00:00+00:00">...</span> shows a live countdown,
 *   "in 3m 12s" or "12s overdue", refreshed every second. The server-rendered text stays as the
 *   fallback without JavaScript; put the absolute time in the element's title.
 * - <form data-confirm="Really withdraw?"> (or a submit button with data-confirm) asks before
 *   submitting, for plain and htmx forms alike.
 * - <textarea data-starts-from="id_nature_of_risk"> follows what is typed in that field until the
 *   person edits it themselves (the SBAR situation starts from the risk already described).
 * - A .table-responsive wrapper that has to scroll sideways (a wide table on a phone) becomes a
 *   focusable, named region, so it can be scrolled from the keyboard (WCAG 2.1.1; axe's
 *   scrollable-region-focusable). Named after its section's heading where it has one.
 */
(function () {
  "use strict";

  var UNITS = [
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
    ["s", 1],
  ];

  /* "2d 3h", "3h 12m", "3m 12s", "12s": the two most significant units. */
  function formatDuration(totalSeconds) {
    var remaining = Math.floor(Math.abs(totalSeconds));
    var parts = [];
    for (var i = 0; i < UNITS.length && parts.length < 2; i++) {
      var amount = Math.floor(remaining / UNITS[i][1]);
      remaining -= amount * UNITS[i][1];
      if (amount > 0 || parts.length > 0 || UNITS[i][0] === "s") {
        parts.push(amount + UNITS[i][0]);
      }
    }
    return parts.join(" ");
  }

  /* Django's "c" date format carries microseconds; trim to milliseconds for every browser. */
  function parseIso(value) {
    var trimmed = String(value).replace(/(\.\d{3})\d+/, "$1");
    var time = Date.parse(trimmed);
    return isNaN(time) ? null : time;
  }

  function updateCountdown(el, now) {
    var target = parseIso(el.getAttribute("data-countdown"));
    if (target === null) {
      return;
    }
    var seconds = Math.round((target - now) / 1000);
    var text = seconds >= 0 ? "in " + formatDuration(seconds) : formatDuration(seconds) + " overdue";
    if (el.textContent !== text) {
      el.textContent = text;
    }
    el.classList.toggle("countdown-overdue", seconds < 0);
  }

  function updateCountdowns(root) {
    var now = Date.now();
    var scope = root && root.querySelectorAll ? root : document;
    scope.querySelectorAll("[data-countdown]").forEach(function (el) {
      updateCountdown(el, now);
    });
  }

  /* Capture phase, so a cancelled submit never reaches htmx's own listener on the form. */
  function confirmSubmit(event) {
    var form = event.target;
    var submitter = event.submitter;
    var message =
      (submitter && submitter.getAttribute("data-confirm")) ||
      (form && form.getAttribute && form.getAttribute("data-confirm"));
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopPropagation();
    }
  }

  /* A field that starts from another: it copies its source while it is empty or still holds
     what it last copied, so nothing a person wrote there is ever overwritten. */
  function followSources(event) {
    var source = event.target;
    if (!source.id) {
      return;
    }
    var followers = document.querySelectorAll('[data-starts-from="' + source.id + '"]');
    for (var i = 0; i < followers.length; i++) {
      var follower = followers[i];
      if (follower.value === "" || follower.value === follower.dataset.copied) {
        follower.value = source.value;
        follower.dataset.copied = source.value;
      }
    }
  }

  function keyboardScrollable(root) {
    var scope = root && root.querySelectorAll ? root : document;
    scope.querySelectorAll(".table-responsive").forEach(function (box) {
      if (box.scrollWidth <= box.clientWidth || box.hasAttribute("tabindex")) {
        return;
      }
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      var section = box.closest("[aria-labelledby]");
      if (section) {
        box.setAttribute("aria-labelledby", section.getAttribute("aria-labelledby"));
      } else {
        box.setAttribute("aria-label", "Table (scrolls sideways)");
      }
    });
  }

  function start() {
    document.addEventListener("input", followSources);
    updateCountdowns(document);
    keyboardScrollable(document);
    window.addEventListener("resize", function () {
      keyboardScrollable(document);
    });
    window.setInterval(function () {
      updateCountdowns(document);
    }, 1000);
    document.addEventListener("submit", confirmSubmit, true);
    /* Content swapped in by htmx gets its countdowns at once, not a second later. */
    document.body.addEventListener("htmx:afterSwap", function (event) {
      updateCountdowns(event.target);
      keyboardScrollable(event.target);
    });
  }

  window.escalportal = { formatDuration: formatDuration, updateCountdowns: updateCountdowns };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
