"""Call safety: everything that stands between a model's request and a phone that rings, one module each.

The rules and their inputs:

* ``rules``: who may be called, when, how often, at what cost (``CallGuards``); ``variables`` checks the values
  a call's prompt placeholders get; ``agent`` reads an agent's placeholders; ``recipients`` screens batch rows.
* ``clock``: wall time, one type throughout (aware UTC datetimes), and how records keep and read it.

One dial, in the order it happens:

* ``subjects``: what will be dialled (a call or a batch), every rule run on it, and its digest;
* ``ask``: asking the person about that subject, through the best channel the client has (``channels``: card,
  URL or form elicitation, or a link to the approval page, each wait bounded);
* ``preview``: what the person is shown, outside text quoted so it cannot forge lines;
* ``gate``: ``decide`` (dry run, decline, token, or a fresh look compared with what was approved) and
  ``Gate.reserve()``, the context that holds the slot around the dial;
* ``idempotency``: a retried dial with the same key answers the first outcome instead of ringing again;
* ``outcomes``: the typed answers both write tools share (placed or started, dry run, approval pending,
  confirmation required, declined, outcome unknown); safety builds them, the toolsets only return them.

The person's side: ``approvals`` (one record and one store), ``page`` (the approval page and its desk) and
``passkeys`` (the WebAuthn proof only a person can give). ``context`` is how this package reaches the runtime
serving it. State (tokens, slots, approvals, passkeys) lives in the server's ``state`` store.
"""

# The package is its modules: importing one (the state store at start-up, the context accessors) must not import
# the call path (asking, the gate, previews, outcomes), which only the call tools need, on their first use.
