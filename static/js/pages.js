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

    // The header's menu: laid out open on wider screens by CSS where the browser can unfold a
    // <details> that way (::details-content); elsewhere opened here.
    var wide = window.matchMedia("(min-width: 40.01rem)");
    var unfoldsByCss = window.CSS && CSS.supports && CSS.supports("selector(::details-content)");
    document.querySelectorAll("details[data-site-menu]").forEach(function (menu) {
      if (wide.matches && !unfoldsByCss) menu.open = true;
    });

    // A step record form with an earlier note: say so when the outcome changes, and read a new
    // note typed in as replacing the earlier one (untick "Keep"; without JavaScript the server
    // asks instead).
    document.querySelectorAll("form.step-form").forEach(function (form) {
      var earlier = form.querySelector("[data-earlier-note]");
      if (!earlier) return;
      var status = form.querySelector("select[name=status]");
      var ask = earlier.querySelector("[data-note-ask]");
      var keep = form.querySelector("input[name=keep_note]");
      var note = form.querySelector("textarea[name=note]");
      if (status && ask) {
        status.addEventListener("change", function () {
          var stored = Array.prototype.find.call(status.options, function (o) { return o.defaultSelected; });
          ask.hidden = !stored || status.value === stored.value;
        });
      }
      if (keep && note) {
        note.addEventListener("input", function () {
          if (note.value.trim()) keep.checked = false;
        });
      }
    });

    // A search whose filter counts were left out of the page (they take a moment) fetches them
    // once the results are shown. The panel's own link still counts them in the page.
    document.querySelectorAll("[data-facets-src]").forEach(function (panel) {
      var waiting = panel.querySelector("[data-facets-waiting]");
      fetch(panel.getAttribute("data-facets-src"), { headers: { Accept: "text/html" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(function (html) {
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var counted = holder.querySelector("#facets-body");
          if (!counted) throw new Error("no filter counts in the answer");
          panel.replaceWith(counted);
        })
        .catch(function () {
          panel.removeAttribute("aria-busy");
          if (waiting && waiting.firstChild) waiting.firstChild.textContent = "The filters could not be counted here. ";
        });
    });

    // On a phone the filter panel starts folded, so the results come first.
    if (window.matchMedia("(max-width: 52rem)").matches) {
      document.querySelectorAll("details[data-collapse-narrow]").forEach(function (details) {
        details.open = false;
      });
    }
  });
})();
