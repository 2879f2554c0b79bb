"""The Rakuten RMS stand-in: RakutenPayOrderAPI es/2.0 under /sandbox/rms, only when BOSS_SANDBOX is on.

It speaks the contract of `rakuten-rms.md` (paths, ESA check, envelopes, status rules) so that the
product runs and is tested without Rakuten, and it keeps its state in Redis so that web workers,
rq workers and tests see the same shop. Every key is namespaced by licenseKey
(`rms-sandbox:<licenseKey>:...`, the key percent-encoded), which keeps each licenseKey's orders apart.

Message codes the contract names (INFO_101/102, ERROR_009/010/011, ERROR_102/103) are used as
documented; the others are the sandbox's own choice, listed here so tests can name them:
- `SEARCH_ORDER_ERROR_012` requestRecordsAmount over 1000, `_013` end before start,
  `_014` window over 63 days; `GET_ORDER_ERROR_012` / `CONFIRM_ORDER_ERROR_012` over 100 numbers
  (all HTTP 400, no orderNumber: the request is wrong, not an order);
- `<FUNC>_ERROR_101` unknown order number, `UPDATE_ORDERSHIPPING_ERROR_104` unknown basketId
  (per order, HTTP 200 like the other per-order ERRORs).
updateOrderShipping's codes are spelled `ORDER_EXT_API_UPDATE_ORDERSHIPPING_...`, as RMS spells them.
A search over more than 15,000 orders reports the true count in totalRecordsAmount but serves only
the first 15,000 (its pages stop there): the client must split such a window.
getOrder answers in the shape of version 10 whatever version is asked for (`fakes`). confirmOrder moves
100 to 200 (楽天処理中) and records shopOrderCfmDatetime; an order at 200 — confirmed, or stored or set there
by the control API — shows 300 at the first getOrder `RMS_SANDBOX_PROCESSING_SECONDS` after it got there
(Redis's clock). cancelOrderAfterShipping takes 500–800 (at 800 it is a success that changes nothing).
updateOrderShipping records the shipping on its basket and moves 100–300 to 500.

Beside the contract, a control API (JSON, no ESA) lets tests and the demo add orders (generated, partial
or whole), change them as Rakuten would (modifyFlag, ChangeReasonModelList), move their progress, inject
faults and read the calls received.

Modules: `contract` (limits, envelopes, codes, field errors), `store` (the state in Redis), `functions`
(the answer of each RMS function), `faults` (injected faults), `fakes` (made-up orders), `routes` (the
blueprint and the control API).
"""
