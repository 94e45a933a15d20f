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

    // "Remove…" links open a confirm page; with a <dialog> to ask in, ask here and post.
    var dialog = document.getElementById("remove-dialog");
    if (dialog && typeof dialog.showModal === "function") {
      var form = dialog.querySelector("form");
      var what = dialog.querySelector("[data-remove-what]");
      var opener = null;
      document.querySelectorAll("a[data-confirm-remove]").forEach(function (link) {
        link.addEventListener("click", function (event) {
          event.preventDefault();
          opener = link;
          form.action = link.pathname;
          what.textContent = link.getAttribute("data-confirm-remove");
          dialog.showModal();
        });
      });
      dialog.querySelector("[data-dialog-cancel]").addEventListener("click", function () {
        dialog.close();
      });
      dialog.addEventListener("close", function () {
        if (opener) opener.focus();
      });
    }

    // On a phone the filter panel starts folded, so the results come first.
    if (window.matchMedia("(max-width: 52rem)").matches) {
      document.querySelectorAll("details[data-collapse-narrow]").forEach(function (details) {
        details.open = false;
      });
    }
  });
})();
