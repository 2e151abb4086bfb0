// Kato Console's own behaviour: small, plain JavaScript, loaded from our origin (no inline script).
"use strict";

// Marks the page as scripted before it is drawn, so buttons only needed without JavaScript
// (.no-js) are hidden from the start and nothing shifts.
document.documentElement.classList.add("js");

// Copy buttons: <button data-copy="#element-id">Copy</button> copies that element's text.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button || !navigator.clipboard) {
    return;
  }
  var source = document.querySelector(button.getAttribute("data-copy"));
  if (!source) {
    return;
  }
  navigator.clipboard.writeText(source.textContent.trim()).then(function () {
    var label = button.textContent;
    button.textContent = "Copied";
    window.setTimeout(function () { button.textContent = label; }, 1500);
  });
});

// The menu button (shown on narrow screens only) opens and closes the side bar's navigation.
document.addEventListener("click", function (event) {
  var button = event.target.closest(".menu-button");
  if (!button) {
    return;
  }
  var target = document.getElementById(button.getAttribute("aria-controls"));
  var open = button.getAttribute("aria-expanded") !== "true";
  button.setAttribute("aria-expanded", open ? "true" : "false");
  target.classList.toggle("open", open);
});

// The reader's time zone, for the times the pages print (kato_console/timezones.py): sent with
// every request from the next one on (the first page, before it knew, prints UTC and says so).
// Zone names (Europe/Paris, America/Argentina/Buenos_Aires) need no escaping in a cookie.
(function () {
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (error) { return; }
  if (!zone || !/^[A-Za-z0-9_+\/-]+$/.test(zone) || document.cookie.indexOf("kato_tz=" + zone) !== -1) {
    return;
  }
  document.cookie = "kato_tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
})();
