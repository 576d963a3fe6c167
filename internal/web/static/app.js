// flymodel UI: progressive enhancement only; every page works without it.
"use strict";
(function () {
  // Copy buttons: <button class="copy" data-copy="text" hidden>. Shown only
  // where the clipboard is available.
  if (!navigator.clipboard) return;
  document.querySelectorAll("button.copy[data-copy]").forEach(function (b) {
    b.hidden = false;
    b.setAttribute("aria-label", "Copy " + b.dataset.copy);
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(b.dataset.copy).then(function () {
        var label = b.textContent;
        b.textContent = "Copied";
        setTimeout(function () { b.textContent = label; }, 1500);
      });
    });
  });
})();
