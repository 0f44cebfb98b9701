// The meeting screen: poll the progress endpoint and update the count without reloading.
// Loaded from a file (no inline script), so a strict Content-Security-Policy can stay on.
(function () {
  "use strict";
  var root = document.querySelector("[data-progress-url]");
  if (!root) { return; }
  var url = root.getAttribute("data-progress-url");
  var state = root.getAttribute("data-state");
  var every = parseInt(root.getAttribute("data-poll-ms"), 10) || 1500;
  var submitted = document.getElementById("submitted");
  var expected = document.getElementById("expected");
  var bar = document.getElementById("progress-bar");
  var percent = document.getElementById("percent");
  var status = document.getElementById("status");

  function show(data) {
    if (data.state !== state) {
      // Opened or closed: the page itself changes, so fetch it anew.
      window.location.reload();
      return;
    }
    if (submitted) { submitted.textContent = String(data.submitted); }
    if (expected) { expected.textContent = String(data.expected); }
    if (bar) {
      bar.max = Math.max(data.expected, 1);
      bar.value = Math.min(data.submitted, bar.max);
    }
    if (percent) {
      percent.textContent = data.expected ? Math.round(100 * data.submitted / data.expected) + "%" : "";
    }
    if (status) { status.hidden = true; }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(show)
      .catch(function () {
        // Keep the last numbers on screen; the next poll tries again.
        if (status) { status.hidden = false; }
      })
      .then(function () { window.setTimeout(poll, every); });
  }

  window.setTimeout(poll, every);

  var button = document.getElementById("fullscreen");
  if (button && document.documentElement.requestFullscreen) {
    button.hidden = false;
    button.addEventListener("click", function () {
      document.documentElement.requestFullscreen();
    });
    document.addEventListener("fullscreenchange", function () {
      button.hidden = Boolean(document.fullscreenElement);
    });
  }
}());
