/* The page externalSubmit answers into the task frame: tell the page around
 * it whether the answer was taken (the labeling stream then moves on). */
(function () {
  "use strict";
  var ok = document.body.getAttribute("data-submitted") === "true";
  if (window.parent !== window) window.parent.postMessage({ hitloop: "submitted", ok: ok }, "*");
})();
