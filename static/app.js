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
          if (data.error) {  // a condition of the list that no longer resolves (a tag deleted meanwhile): say so
            form.querySelector(".selected-count").textContent = data.error;
            return;
          }
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
