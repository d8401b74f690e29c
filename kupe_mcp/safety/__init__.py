"""Between the call tools and ``kupe_mcp.safety.rules``: subjects, asking a person, previews, tokens, the gate.

How a ``place_call`` or ``start_batch`` is confirmed (README "Call safety"), one module each:

* ``_subjects``: the subject resolver builds what will be dialled (a call or a batch), runs
  every rule on it and gives it a digest; the confirmation resolver and the body share it.
* ``_ask``: the confirmation resolver asks the person about that subject, or does not.
* ``_preview``: what the person is shown, outside text quoted so it cannot forge lines.
* ``_gate``: ``decide`` (dry run, decline, token, or a fresh look compared with what was
  approved) and ``Gate.reserve()``, the context that holds the slot around the dial.
* ``_recipients``: add_batch_recipients' CSV rows and the "who" rules per row.
* ``outcomes``: the typed answers both write tools share (placed or started, dry run, approval pending,
  confirmation required, declined, outcome unknown); safety builds them, the toolsets only return them.

State (tokens, slots, approval records) lives in the server's ``kupe_mcp.safety.state`` store.
"""

# The package is its modules: importing one (the state store at start-up, the context accessors) must not import
# the call path (asking, the gate, previews, outcomes), which only the call tools need, on their first use.
