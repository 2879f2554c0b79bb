// BOSS: the little behaviour htmx does not give for free — dialogs, the bulk bar, error swaps.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // Refusals (409) and field errors (422) come back as content to show, not as failures.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "409", swap: true },
      { code: "422", swap: true },
      { code: "[45]..", swap: false, error: true },
    ];
    const dialog = document.getElementById("dialog");

    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target === dialog && !dialog.open) {
        dialog.showModal();
        const focus = dialog.querySelector("[autofocus]");
        if (focus) focus.focus();
      }
    });
    // An action posted from the dialog swaps a row elsewhere: close the dialog once it is answered.
    document.body.addEventListener("htmx:afterRequest", function (event) {
      if (dialog.open && event.detail.elt.hasAttribute("data-answer-closes-dialog")) dialog.close();
    });
    document.body.addEventListener("click", function (event) {
      if (event.target.closest("[data-close-dialog]")) dialog.close();
    });
    dialog.addEventListener("close", function () {
      const refresh = dialog.querySelector("[data-refresh-list]");
      dialog.innerHTML = "";
      const list = document.getElementById("order-list");
      if (refresh && list) htmx.ajax("GET", window.location.href, { target: "#order-list" });
    });

    // Bulk selection.
    document.body.addEventListener("change", function (event) {
      const form = event.target.closest("#bulk-form");
      if (!form) return;
      if (event.target.classList.contains("check-all")) {
        form.querySelectorAll("input[name=order_ids]").forEach(function (box) { box.checked = event.target.checked; });
      }
      form.querySelector("input[name=all_matching]").value = "0";
      updateBulkBar(form);
    });
    document.body.addEventListener("click", function (event) {
      const button = event.target.closest(".select-all-matching");
      if (!button) return;
      const form = button.closest("#bulk-form");
      fetch(button.dataset.countUrl, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          form.querySelectorAll("input[name=order_ids]").forEach(function (box) { box.checked = true; });
          form.querySelector("input[name=all_matching]").value = "1";
          updateBulkBar(form, data.count, data.over_limit);
        });
    });
    document.body.addEventListener("htmx:afterSettle", function () {
      const form = document.getElementById("bulk-form");
      if (form) updateBulkBar(form);
    });
  });

  function updateBulkBar(form, matching, overLimit) {
    const bar = form.querySelector(".bulkbar");
    const all = form.querySelector("input[name=all_matching]").value === "1";
    const n = all ? matching : form.querySelectorAll("input[name=order_ids]:checked").length;
    if (all && matching === undefined) return;
    bar.hidden = !n;
    form.querySelectorAll(".bulkbar .n").forEach(function (el) { el.textContent = n.toLocaleString(); });
    const label = form.querySelector(".selected-count");
    // The wording comes from the template (translated there): data-selected, data-all, data-over-limit.
    const text = all ? (overLimit ? label.dataset.overLimit : label.dataset.all) : label.dataset.selected;
    label.textContent = (text || "").replace("%(n)s", n.toLocaleString());
  }
})();

// Behaviour that used to sit in inline attributes, which the Content-Security-Policy (script-src 'self',
// style-src 'self') refuses: colours from data- attributes, the shop filter, dismissing, copying.
(function () {
  "use strict";
  // Tag and swatch colours come as data-tag-color / data-swatch-color; a colour set through the CSSOM is
  // allowed where a style="" attribute is not. htmx.onLoad runs for the page and for every swapped-in part.
  function applyColours(root) {
    [["data-tag-color", "--tag"], ["data-swatch-color", "--swatch"]].forEach(function (pair) {
      const selector = "[" + pair[0] + "]";
      const found = Array.from(root.querySelectorAll(selector));
      if (root.matches(selector)) found.push(root);
      found.forEach(function (el) { el.style.setProperty(pair[1], el.getAttribute(pair[0])); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    htmx.onLoad(applyColours);

    document.body.addEventListener("change", function (event) {
      if (event.target.matches("[data-submit-on-change]")) event.target.form.submit();
    });
    document.body.addEventListener("click", function (event) {
      const dismiss = event.target.closest("[data-dismiss]");
      if (dismiss) {
        const gone = dismiss.closest(dismiss.dataset.dismiss);
        if (gone) gone.remove();
      }
      const copy = event.target.closest("[data-copy-from]");
      if (copy) copyFrom(copy);
    });
    document.body.addEventListener("focusin", function (event) {
      if (event.target.matches("[data-select-on-focus]")) event.target.select();
    });
    // A form marked data-success-closes-dialog closes the dialog once it is answered with 200 (a 422 keeps
    // the dialog open with the errors).
    document.body.addEventListener("htmx:afterRequest", function (event) {
      const dialog = document.getElementById("dialog");
      if (dialog && dialog.open && event.detail.elt.hasAttribute("data-success-closes-dialog")
          && event.detail.xhr.status === 200) dialog.close();
    });
  });

  function copyFrom(button) {
    const field = document.getElementById(button.dataset.copyFrom);
    field.select();
    const copied = navigator.clipboard ? navigator.clipboard.writeText(field.value)
                                       : Promise.resolve(document.execCommand("copy"));
    copied.then(function () { button.textContent = button.dataset.done; });
  }
})();
