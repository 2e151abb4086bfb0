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
