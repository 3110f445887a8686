// mailroom's pages: a question before destructive forms, and copying a shown secret.
// Everything works without this script; it only adds comfort.
"use strict";
document.addEventListener("submit", function (e) {
  var q = e.target.getAttribute("data-confirm");
  if (q && !window.confirm(q)) e.preventDefault();
});
document.addEventListener("click", function (e) {
  var t = e.target.closest("[data-copy]");
  if (!t || !navigator.clipboard) return;
  var src = document.getElementById(t.getAttribute("data-copy"));
  if (src) navigator.clipboard.writeText(src.textContent).then(function () {
    t.textContent = "Copied";
  });
});
