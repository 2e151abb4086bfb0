// Kato Console's page behaviour, kept out of the markup: the Content-Security-Policy allows no
// inline script. Listeners sit on the document, so content that htmx swaps in works too.
(function () {
  "use strict";

  // <button data-copy-target="secret-key">Copy</button> copies the text of #secret-key.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button || !navigator.clipboard) {
      return;
    }
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (source) {
      navigator.clipboard.writeText(source.textContent);
    }
  });
})();
