/*
 * The task page's script (no inline script on the site). The time left
 * counts down. In the labeling stream, the task frame tells this page when
 * its answer was taken (submitted.js posts a message from the frame: the
 * frame is sandboxed, so nothing else crosses), and the next task is asked
 * for at once; the frame gets the keyboard focus whenever it loads, so that
 * the task's keys work without a click.
 */
(function () {
  "use strict";
  var left = document.getElementById("time-left");
  if (left) {
    var seconds = parseInt(left.getAttribute("data-seconds"), 10) || 0;
    var show = function () {
      var m = Math.floor(seconds / 60), s = seconds % 60;
      left.textContent = seconds > 0 ? m + " min " + (s < 10 ? "0" : "") + s + " s" : "none: submit is closed";
    };
    show();
    setInterval(function () { if (seconds > 0) { seconds -= 1; show(); } }, 1000);
  }
  var frame = document.querySelector("iframe");
  var next = document.querySelector("form.stream-next");
  if (frame) frame.addEventListener("load", function () { frame.focus(); });
  window.addEventListener("message", function (event) {
    if (!frame || event.source !== frame.contentWindow) return;
    var data = event.data || {};
    if (data.hitloop === "submitted" && data.ok === true && next) next.submit();
  });
})();
