"""The warehouse simulator (a stand-in for RSL): `warehouse.md` §2's contract under /sandbox/warehouse/v1,
only when BOSS_SANDBOX is on, with §3's control API under /sandbox/warehouse/_control.

It imports nothing of a warehouse client nor of BOSS's tables: it speaks the contract, so the client is
tested against the contract and not against itself. State is in Redis (`store`), shared by web workers,
rq workers and tests, one API key's apart from another's; any non-empty key is accepted.

Choices the contract leaves open, made here (tests may rely on them):
- error codes beyond §2's: `E401` no key, `E429` over the rate, `E409` an advance the state does not allow
  (body: `errors` and the shipment's `shipment_status`), `E<status>` an injected fault without an `error_code`;
- cursors are `e<position>`; a cursor past the end (after a reset) or not of this form → 422 E100 `after`;
- event ids are random (`ev_` + 24 hex), never reused, even after a reset;
- `withdrawn` answers a withdrawal only of a shipment not shipped (409 otherwise: `withdrawal_refused` can);
- a withdrawal of a shipment withdrawn, refused or cancelled answers 200 and remembers nothing; after an
  answered withdrawal or cancellation, a new one is a new request (202);
- a fault may name any HTTP status (401 imitates a revoked key); `times: 0` disarms a function's faults;
- `return_inspected` without `lines`: every line returned and sellable.

Additions to §3 (for benchmarks and the demo):
- `POST _control/advance-many {"api_key", "items": [advance bodies without api_key]}` → 200
  `{"events": [event or null, …], "errors": [{"index", "status", …}]}`: many events in one call, applied in
  order (an item may advance a shipment an earlier item advanced);
- `store.configure(redis, api_key, auto=, start_after_s=, ship_after_s=, skus=)` sets a key's mode and item
  master in Redis directly (the demo, before the app serves);
- `_control/items` with `"skus": null` removes the item master.

Auto mode runs nothing in the background: a key's due events are produced when anything touches the key
(events, get shipment, withdrawal, cancellation, advance, control shipments/calls), each at the time it was
due, under the key's lock so two processes never produce one twice.

Modules: `contract` (answers, checks, shipment, cursor, events and their state table), `auto` (auto mode's
timeline), `store` (Redis), `functions` (each function's answer), `routes` (the blueprint, control API).
"""
