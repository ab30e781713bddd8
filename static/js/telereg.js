// Behaviour for telereg's pages. The Content-Security-Policy allows scripts
// from this site's static files only: no inline <script>, no on…= attributes.
// Elements ask for behaviour with data- attributes instead.
"use strict";

document.addEventListener("click", function (event) {
  var target = event.target.closest("[data-print]");
  if (target) {
    event.preventDefault();
    window.print();
  }
});
