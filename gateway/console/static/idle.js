/* The console's idle log-off in the browser: a warning before the session ends for inactivity, with a
   "Stay signed in" button, then the sign-in page once it has ended. The server decides: every console
   answer says how long the session lasts without another request (Carelay-Idle-Left-Ms), and at that
   moment the page asks GET /console/session, which never restarts the clock; if another tab kept the
   session alive it says how long is left, else it names the sign-in page (HX-Redirect). Without
   JavaScript the next click lands on the sign-in page instead. */
(function () {
  "use strict";
  var HEADER = "Carelay-Idle-Left-Ms";
  var body = document.body;
  var left = Number(body.getAttribute("data-idle-left-ms"));
  var warnMs = Number(body.getAttribute("data-idle-warn-ms"));
  var banner = document.getElementById("idle-warning");
  var form = document.getElementById("idle-stay-form");
  if (!left || !banner || !form) {
    return; // not signed in
  }
  var deadline = Date.now() + left;
  var warnTimer = null;
  var endTimer = null;

  function show(visible) {
    banner.hidden = !visible;
  }

  function schedule(leftMs) {
    deadline = Date.now() + leftMs;
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    show(leftMs <= warnMs);
    warnTimer = setTimeout(function () { show(true); }, Math.max(0, leftMs - warnMs));
    endTimer = setTimeout(check, leftMs + 250);
  }

  function heard(value) {
    var ms = Number(value);
    if (value !== null && value !== "" && ms >= 0) {
      schedule(ms);
    }
  }

  function check() {
    fetch("/console/session", {
      credentials: "same-origin", cache: "no-store",
      headers: {"HX-Request": "true", "HX-Current-URL": window.location.href}
    }).then(function (r) {
      var to = r.headers.get("HX-Redirect");
      if (to) {
        window.location.assign(to);
        return;
      }
      heard(r.headers.get(HEADER));
    }).catch(function () {
      endTimer = setTimeout(check, 5000); // the gateway is unreachable: ask again
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin", cache: "no-store"})
      .then(function (r) {
        if (r.redirected || r.status >= 300) {
          check();
          return;
        }
        heard(r.headers.get(HEADER));
      })
      .catch(function () { check(); });
  });

  // an htmx request that restarted the clock (an action on a notice, a reply) says so in its answer
  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail && event.detail.xhr;
    if (xhr && xhr.getResponseHeader) {
      heard(xhr.getResponseHeader(HEADER));
    }
  });

  schedule(left);
}());
