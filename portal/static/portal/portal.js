// Small enhancements only: every page works without this file.
(function () {
  "use strict";
  // A print button makes sense only where a script can open the print dialog.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
