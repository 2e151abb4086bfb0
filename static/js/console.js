// Kato Console's own behaviour: small, plain JavaScript, loaded from our origin (no inline script).
"use strict";

// Marks the page as scripted before it is drawn, so buttons only needed without JavaScript
// (.no-js) are hidden from the start and nothing shifts.
document.documentElement.classList.add("js");

// Copy buttons: <button data-copy="#element-id">Copy</button> copies that element's text. With
// data-copy-from="URL" it copies what a POST to that URL answers instead (the curl line with the
// real secret key, which the page masks: the console records the copy like a reveal).
function csrfToken() {
  try { return JSON.parse(document.body.getAttribute("hx-headers"))["x-csrftoken"]; } catch (error) { return ""; }
}

function copied(button) {
  var label = button.textContent;
  button.textContent = "Copied";
  window.setTimeout(function () { button.textContent = label; }, 1500);
}

function fetchText(url) {
  return fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrfToken() } })
    .then(function (response) {
      if (!response.ok) { throw new Error("copy refused: " + response.status); }
      return response.text();
    });
}

document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button || !navigator.clipboard) {
    return;
  }
  var from = button.getAttribute("data-copy-from");
  if (from) {
    var text = fetchText(from);
    // A ClipboardItem given a promise keeps the click's permission while the answer comes.
    var write = window.ClipboardItem
      ? navigator.clipboard.write([new ClipboardItem({ "text/plain": text.then(function (t) { return new Blob([t], { type: "text/plain" }); }) })])
      : text.then(function (t) { return navigator.clipboard.writeText(t); });
    write.then(function () { copied(button); }, function () { button.textContent = "Copy failed"; });
    return;
  }
  var source = document.querySelector(button.getAttribute("data-copy"));
  if (!source) {
    return;
  }
  navigator.clipboard.writeText(source.textContent.trim()).then(function () { copied(button); });
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

// A menu (<details class="menu">) closes once one of its items is chosen, when the person clicks
// elsewhere, and on Escape (the focus goes back to its button), so it never stays open over the
// form it opened or over that form's errors.
document.addEventListener("click", function (event) {
  document.querySelectorAll("details.menu[open]").forEach(function (menu) {
    if (!menu.querySelector("summary").contains(event.target)) {
      menu.removeAttribute("open");
    }
  });
});
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") {
    return;
  }
  document.querySelectorAll("details.menu[open]").forEach(function (menu) {
    menu.removeAttribute("open");
    if (menu.contains(document.activeElement)) {
      menu.querySelector("summary").focus();
    }
  });
});

// A control reached with the keyboard inside a box that scrolls sideways (a wide table or the
// topology on a phone) is brought wholly into view: Chromium leaves one that is half visible where
// it is, its label cut off at the box's edge.
document.addEventListener("focusin", function (event) {
  var target = event.target;
  if (target.matches && target.matches(":focus-visible") && target.scrollIntoView) {
    target.scrollIntoView({ block: "nearest", inline: "nearest" });
  }
});
