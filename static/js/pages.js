// Small enhancements; every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.addEventListener("DOMContentLoaded", function () {
    // Sorting applies as soon as the choice changes.
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.form) select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit();
      });
    });

    // Print buttons need JavaScript, so they stay hidden without it.
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });

    // On a phone the filter panel starts folded, so the results come first.
    if (window.matchMedia("(max-width: 52rem)").matches) {
      document.querySelectorAll("details[data-collapse-narrow]").forEach(function (details) {
        details.open = false;
      });
    }
  });
})();
