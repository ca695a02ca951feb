// Starts the page's first requests (session, configuration, and the event an edit link opens)
// while hls.js and the modules still load; app.js takes them up (api.js `booted`). A classic
// script, run as soon as it arrives, so it waits for nothing else.
"use strict";
(function () {
  function get(path) {
    const request = fetch(path, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
    request.catch(function () {}); // read (and reported) by app.js
    return request;
  }
  const boot = { "/api/session": get("/api/session"), "/api/config": get("/api/config") };
  const edit = /^#\/events\/([^/?]+)/.exec(window.location.hash);
  if (edit) {
    const path = "/api/events/" + encodeURIComponent(decodeURIComponent(edit[1]));
    boot[path] = get(path);
  }
  window.editorBoot = boot;
})();
