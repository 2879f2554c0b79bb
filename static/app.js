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
    // A refusal the server means to show where it was asked (BOSS-Refusal: a dialog saying a tag was not found,
    // a 404 as in the API) is swapped in although htmx swaps no other 4xx.
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      if (event.detail.xhr.getResponseHeader("BOSS-Refusal")) {
        event.detail.shouldSwap = true;
        event.detail.isError = false;
      }
    });

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

// Keyboard safety for the dialog (#dialog): it opens on 戻る or the reason select (the templates' autofocus), never on
// the irreversible button, so Enter, Enter does nothing for good. Escape or 戻る gives focus back to the button that
// opened it; after an action, focus goes to the updated row or to the message.
(function () {
  "use strict";
  let opener = null;        // the element focused when the dialog opened
  let answeredRowId = null; // the row an action in the dialog swapped (outside the dialog)
  let resultShown = false;  // the dialog shows a bulk result: closing it reloads the list, the opener with it
  let refocusList = false;

  function focusable(element) {
    if (!element.matches("a[href], button, input, select, textarea, [tabindex]")) element.setAttribute("tabindex", "-1");
    return element;
  }

  function rememberOpener(event) {
    const dialog = document.getElementById("dialog");
    if (event.detail.target !== dialog || dialog.open) return;
    const active = document.activeElement;
    opener = active && active !== document.body ? active : event.detail.requestConfig && event.detail.requestConfig.elt;
    answeredRowId = null;
    resultShown = false;
  }

  function rememberAnsweredRow(event) {
    const dialog = document.getElementById("dialog");
    const elt = event.detail.requestConfig && event.detail.requestConfig.elt; // detail.elt is the target here
    if (dialog.open && elt && elt.hasAttribute("data-answer-closes-dialog") && dialog.contains(elt)) answeredRowId = event.detail.target.id;
  }

  // A swap inside the open dialog (a bulk result, a job's progress) takes the focused button with it: focus the new one.
  function keepFocusInDialog() {
    const dialog = document.getElementById("dialog");
    if (!dialog.open || answeredRowId) return;
    resultShown = Boolean(dialog.querySelector("[data-refresh-list]"));
    if (dialog.contains(document.activeElement)) return;
    const next = dialog.querySelector("[autofocus]") || dialog.querySelector("button, select, input:not([type=hidden])");
    if (next) next.focus();
  }

  function focusMessage() {
    const messages = document.getElementById("messages");
    if (messages && messages.textContent.trim()) focusable(messages).focus();
  }

  function restoreFocus() {
    const list = document.getElementById("order-list");
    if (answeredRowId) {
      const row = document.getElementById(answeredRowId);
      if (row) focusable(row).focus(); else focusMessage();
    } else if (opener && opener.isConnected) {
      opener.focus();
      refocusList = resultShown && Boolean(list) && list.contains(opener);
    }
    opener = null;
    answeredRowId = null;
    resultShown = false;
  }

  // The list reloaded after a bulk result replaced the button that opened the dialog: focus the list itself.
  function focusReloadedList(event) {
    if (!refocusList || event.detail.target.id !== "order-list") return;
    refocusList = false;
    if (!document.activeElement || document.activeElement === document.body) focusable(event.detail.target).focus();
  }

  // A page reached by a form post (the order page after its cancel or delete) shows the outcome: focus it.
  function focusFlashOnLoad() {
    if (document.querySelector("#messages .flash") && !document.querySelector("[autofocus]")) focusMessage();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.body.addEventListener("htmx:beforeSwap", rememberOpener);
    document.body.addEventListener("htmx:beforeSwap", rememberAnsweredRow);
    document.body.addEventListener("htmx:afterSwap", keepFocusInDialog);
    document.body.addEventListener("htmx:afterSwap", focusReloadedList);
    document.getElementById("dialog").addEventListener("close", restoreFocus);
    focusFlashOnLoad();
  });
})();

// hx-confirm asks in the dialog, opened on 戻る, not with the browser's confirm() whose OK has the focus (Enter, Enter
// revoked an API token for good). The go-ahead button reads as the button pressed; Escape or 戻る give focus back to
// it; after the answer, focus is on what the answer swapped in.
(function () {
  "use strict";
  let confirmedElt = null;

  function pressedButton(detail) {
    const submitter = detail.triggeringEvent && detail.triggeringEvent.submitter;
    return submitter || (detail.elt.matches("button") ? detail.elt : detail.elt.querySelector("button[type=submit]"));
  }

  function element(tag, className, text) {
    const made = document.createElement(tag);
    if (className) made.className = className;
    if (text) made.textContent = text;
    return made;
  }

  function askInDialog(event) {
    const detail = event.detail;
    if (!detail.question) return;
    event.preventDefault();
    const dialog = document.getElementById("dialog");
    const opener = document.activeElement;
    const button = pressedButton(detail);
    const title = element("h2", "", dialog.dataset.confirmTitle);
    title.id = "dialog-title";
    const go = element("button", "danger");
    go.type = "button";
    if (button) button.childNodes.forEach(function (node) { go.appendChild(node.cloneNode(true)); });
    else go.textContent = dialog.dataset.confirmTitle;
    const back = element("button", "secondary", dialog.dataset.confirmBack);
    back.type = "button";
    back.setAttribute("data-close-dialog", "");
    const actions = element("div", "dialog-actions");
    actions.append(go, back);
    const body = element("div", "dialog-body");
    body.append(title, element("p", "", detail.question), actions);
    dialog.replaceChildren(body);
    go.addEventListener("click", function () {
      confirmedElt = detail.elt;
      dialog.close();
      detail.issueRequest(true);
    });
    dialog.addEventListener("close", function () {
      if (confirmedElt !== detail.elt && opener && opener.isConnected) opener.focus();
    }, { once: true });
    dialog.showModal();
    back.focus();
  }

  function focusConfirmedAnswer(event) {
    if (!confirmedElt || event.detail.requestConfig.elt !== confirmedElt) return;
    confirmedElt = null;
    const swapped = event.detail.target.id && document.getElementById(event.detail.target.id);
    const focus = swapped || document.getElementById("messages");
    if (!focus) return;
    if (!focus.matches("a[href], button, input, select, textarea, [tabindex]")) focus.setAttribute("tabindex", "-1");
    focus.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.body.addEventListener("htmx:confirm", askInDialog);
    document.body.addEventListener("htmx:afterSwap", focusConfirmedAnswer);
  });
})();

// Behaviour that used to sit in inline attributes, which the Content-Security-Policy (script-src 'self',
// style-src 'self') refuses: colours from data- attributes, the shop filter, dismissing, copying.
(function () {
  "use strict";
  // Tag and swatch colours come as data-tag-color / data-swatch-color, a tag's text colour (black or white, the
  // one readable on it: boss/colors.py) as data-tag-ink; a colour set through the CSSOM is allowed where a
  // style="" attribute is not. htmx.onLoad runs for the page and for every swapped-in part.
  function applyColours(root) {
    [["data-tag-color", "--tag"], ["data-tag-ink", "--tag-ink"], ["data-swatch-color", "--swatch"]].forEach(function (pair) {
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

// 手動注文登録: the total as staff type, the item picker of each line, and the address from a postal code.
(function () {
  "use strict";
  // Whole numbers as the server reads them (WholeNumberField): full-width digits and thousands separators are fine.
  function wholeNumber(text) {
    const plain = (text || "").trim().replace(/[,，]/g, "")
      .replace(/[０-９]/g, function (d) { return String.fromCharCode(d.charCodeAt(0) - 0xFEE0); });
    return /^\d+$/.test(plain) ? Number(plain) : null;
  }

  function yen(n) { return "¥" + n.toLocaleString("ja-JP"); }

  function updateSum(form) {
    const sum = form.querySelector("#order-sum");
    if (!sum) return;
    let subtotal = 0;
    form.querySelectorAll("tr.order-line").forEach(function (row) {
      const quantity = wholeNumber(row.querySelector("[data-amount-input=quantity]").value);
      const price = wholeNumber(row.querySelector("[data-amount-input=unit_price]").value);
      if (quantity !== null && price !== null) subtotal += quantity * price;
    });
    const postage = wholeNumber(form.querySelector("[data-amount-input=postage]").value) || 0;
    sum.querySelector("[data-amount=subtotal]").textContent = yen(subtotal);
    sum.querySelector("[data-amount=postage]").textContent = yen(postage);
    sum.querySelector("[data-amount=total]").textContent = yen(subtotal + postage);
  }

  function lineField(line, name) { return document.getElementById("lines-" + line + "-" + name); }

  function pick(button) {
    const line = button.dataset.pickLine;
    const mapped = button.hasAttribute("data-mall-item-id");
    const item = lineField(line, "mall_item_id");
    const sub = lineField(line, "sub_code");
    lineField(line, "product").value = button.dataset.sku;
    lineField(line, "name").value = button.dataset.name;
    if (mapped) {
      item.value = button.dataset.mallItemId;
      sub.value = button.dataset.subCode;
      item.dataset.fromPick = "1";
    } else if (item.dataset.fromPick) {  // an earlier pick's モール商品ID is not this product's
      item.value = sub.value = "";
      delete item.dataset.fromPick;
    }
    document.getElementById("lines-" + line + "-product-picked").textContent = button.dataset.picked;
    document.getElementById("lines-" + line + "-product-picks").replaceChildren();
    (mapped || item.value ? lineField(line, "quantity") : item).focus();
  }

  // Arrow keys walk from the search box through its candidates; Escape closes them and goes back to the box;
  // Enter in the box takes its only candidate.
  function pickerKeys(event) {
    const cell = event.target.closest(".line-picker");
    if (!cell) return;
    const search = cell.querySelector("[data-picker]");
    const buttons = Array.from(cell.querySelectorAll("button.pick"));
    const at = buttons.indexOf(event.target);
    if (event.key === "Enter" && event.target === search) {  // never registers the order from the search box
      if (buttons.length === 1) pick(buttons[0]); else if (buttons.length) buttons[0].focus();
    } else if (event.key === "Escape" && buttons.length) {
      cell.querySelector(".line-picks").replaceChildren();
      search.focus();
    } else if (event.key === "ArrowDown" && buttons.length) {
      buttons[Math.min(at + 1, buttons.length - 1)].focus();
    } else if (event.key === "ArrowUp" && at >= 0) {
      (at === 0 ? search : buttons[at - 1]).focus();
    } else {
      return;
    }
    event.preventDefault();
  }

  function showPostalMessage(input, text, isError) {
    const hint = document.getElementById(input.id + "-hint");
    hint.textContent = text;
    hint.classList.toggle("field-error", Boolean(isError));
  }

  // 郵便番号 → 都道府県＋市区町村＋町域. The button always fills; leaving the field fills an empty 住所 only.
  // An address that already starts with what the code gives (番地 typed after it) is left as it is.
  function lookUpAddress(input, always) {
    const address = document.getElementById(input.dataset.postalCode);
    if (!input.value.trim() || (!always && address.value.trim())) return;
    const button = document.querySelector("[data-postal-lookup='" + input.id + "']");
    const url = button.dataset.url + "?postal_code=" + encodeURIComponent(input.value);
    fetch(url, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (answer) {
        const data = answer.data;
        if (data.postal_code) input.value = data.postal_code;
        showPostalMessage(input, data.message, !answer.ok);
        if (!answer.ok || !data.address) return;
        if (!address.value.trim().startsWith(data.address)) address.value = data.address;
        address.focus();
        address.setSelectionRange(address.value.length, address.value.length);
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.body.addEventListener("input", function (event) {
      const form = event.target.closest(".manual-form");
      if (form && event.target.matches("[data-amount-input]")) updateSum(form);
    });
    document.body.addEventListener("click", function (event) {
      const button = event.target.closest("button.pick");
      if (button) pick(button);
      const lookup = event.target.closest("[data-postal-lookup]");
      if (lookup) lookUpAddress(document.getElementById(lookup.dataset.postalLookup), true);
    });
    document.body.addEventListener("change", function (event) {
      if (event.target.matches("[data-postal-code]")) lookUpAddress(event.target, false);
    });
    document.body.addEventListener("keydown", pickerKeys);
  });
})();

// On a phone the navigation and the user menu fold behind 「メニュー」 (base.html; app.css shows them while the button
// says aria-expanded="true"). Escape or a click elsewhere folds them again.
(function () {
  "use strict";
  function setOpen(toggle, open) {
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }

  function menuParts(toggle) {
    return [toggle].concat(toggle.getAttribute("aria-controls").split(" ").map(function (id) {
      return document.getElementById(id);
    }).filter(Boolean));
  }

  document.addEventListener("DOMContentLoaded", function () {
    const toggle = document.querySelector(".menu-toggle");
    if (!toggle) return;
    toggle.addEventListener("click", function () {
      setOpen(toggle, toggle.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || toggle.getAttribute("aria-expanded") !== "true") return;
      const inside = menuParts(toggle).some(function (part) { return part.contains(document.activeElement); });
      setOpen(toggle, false);
      if (inside) toggle.focus();
    });
    document.addEventListener("click", function (event) {
      if (toggle.getAttribute("aria-expanded") !== "true") return;
      if (!menuParts(toggle).some(function (part) { return part.contains(event.target); })) setOpen(toggle, false);
    });
  });
})();

// A disabled action's reason, readable without hovering (ui.md): the templates render the button disabled with the
// reason in its title and in an element its aria-describedby names (often .sr-only). Where that reason is not on
// the screen, the button becomes aria-disabled instead, so a tap, a click, Enter or Space on it shows the reason in a
// small toggletip: one live region (role=status) under the button; Escape, a click elsewhere or scrolling closes it.
// The button still does nothing else. A reason already written under its button (the order page) needs no toggletip.
(function () {
  "use strict";
  let tip = null;     // the toggletip: one for the page
  let shownFor = null; // the button it speaks for

  function reasonOf(button) {
    const ids = (button.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    const describers = ids.map(function (id) { return document.getElementById(id); }).filter(Boolean);
    if (describers.some(function (el) { return el.offsetWidth > 1 && el.offsetHeight > 1; })) return null;  // on screen
    const text = describers.map(function (el) { return el.textContent.trim(); }).join(" ");
    return text || button.getAttribute("title");
  }

  function enhance(root) {
    const found = Array.from(root.querySelectorAll("button[disabled]"));
    if (root.matches && root.matches("button[disabled]")) found.push(root);
    found.forEach(function (button) {
      const reason = reasonOf(button);
      if (!reason) return;
      button.disabled = false;
      button.setAttribute("aria-disabled", "true");
      button.dataset.reason = reason;
    });
  }

  function close() {
    if (!tip || !shownFor) return;
    tip.replaceChildren();
    shownFor = null;
  }

  function show(button) {
    const home = button.closest("dialog[open]") || document.body;
    if (tip.parentNode !== home) home.appendChild(tip);
    const bubble = document.createElement("span");
    bubble.className = "toggletip-bubble";
    bubble.textContent = button.dataset.reason;
    tip.style.setProperty("left", "0px");  // measured where it has the whole width
    tip.replaceChildren(bubble);  // a change inside the live region (always there, empty when closed): read out
    const box = button.getBoundingClientRect();
    const width = document.documentElement.clientWidth;
    const left = Math.max(8, Math.min(box.left, width - bubble.offsetWidth - 8));
    const below = box.bottom + 6 + bubble.offsetHeight <= window.innerHeight;
    tip.style.setProperty("left", left + "px");
    tip.style.setProperty("top", (below ? box.bottom + 6 : box.top - 6 - bubble.offsetHeight) + "px");
    shownFor = button;
  }

  document.addEventListener("DOMContentLoaded", function () {
    tip = document.createElement("div");
    tip.className = "toggletip";
    tip.setAttribute("role", "status");
    document.body.appendChild(tip);
    htmx.onLoad(enhance);
    // Capturing on window: the click never reaches the button's own handlers (htmx) nor submits its form.
    window.addEventListener("click", function (event) {
      const button = event.target.closest && event.target.closest("[aria-disabled=true][data-reason]");
      if (button) {
        event.preventDefault();
        event.stopImmediatePropagation();
        if (shownFor === button) close(); else show(button);
      } else if (shownFor && !tip.contains(event.target)) {
        close();
      }
    }, true);
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && shownFor) {
        event.preventDefault();
        close();
      }
    });
    document.addEventListener("focusout", function (event) {
      if (shownFor && event.target === shownFor) close();
    });
    window.addEventListener("scroll", close, true);
    window.addEventListener("resize", close);
  });
})();
