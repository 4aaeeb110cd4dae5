/* Tandem's only script: fill in the browser's time zone where a form asks for it. */
(function () {
  "use strict";
  function detectZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      return "";
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var zone = detectZone();
    var fields = document.querySelectorAll("[data-detect-timezone]");
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (zone && !field.value) {
        field.value = zone;
        var note = document.getElementById(field.id + "-detected");
        if (note) { note.textContent = "Detected from your browser: " + zone + ". Change it if it is wrong."; }
      }
    }
  });
})();
