"""Call safety: who may be called, when, how often, and whether a person said yes.

Every rule about placing calls lives here, as plain logic the tools call before anything
reaches Kupe (README "Call safety"):

1. **Who** (``destination``): what a person typed is parsed with ``phonenumbers``
   (``KUPE_DEFAULT_REGION`` for national forms) and normalised to E.164. Invalid numbers,
   extensions, emergency numbers, short codes, premium-rate, shared-cost, UAN and voicemail
   numbers are refused; satellite, international-network and personal numbers too, unless
   allow-listed by name (``_costly_range``). ``KUPE_BLOCKED_DESTINATIONS`` then
   ``KUPE_ALLOWED_DESTINATIONS`` (blocked wins; an allow-list, when set, is exhaustive; a full
   number on it matches exactly, ``*`` or a shorter entry is a prefix: ``entry_matches``).
2. **When** (``check_hours``): ``KUPE_CALLING_HOURS`` in the destination's local time, in
   every time zone the number may ring in (the most restrictive wins).
3. **How often** (``check_volume``, ``prior_call``): ``KUPE_MAX_CALLS_PER_HOUR`` per tenant
   (a batch counts its rows), ``KUPE_MAX_CALLS_PER_HOUR_TOTAL`` for the whole server, and
   ``KUPE_REPEAT_WINDOW_S``: calling a number again soon needs a fresh confirmation that
   names the earlier call, even where confirmation is otherwise off. A batch must fit in the
   calling window at Kupe's pace (``batch_overrun``, ``check_pace``).
4. **Who said yes** (``assess``, ``check_token``): confirmation is needed unless
   ``KUPE_CONFIRM_CALLS=off`` and every destination is on the allow-list. Clients without
   elicitation get a single-use token bound to a digest of the exact, normalised request,
   valid five minutes.

The rules are pure: the state they judge (``Recent``: the slots calls hold; a token's record)
is read and written by ``kupe_mcp.safety.state`` stores, atomically, in ``toolsets/_safety``.
A refusal is a ``CallRefused`` whose message is one sentence: what, why, what to do.
The clock is injectable (``CallGuards.clock``) so every time rule is testable.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kupe_mcp.config import Settings, parse_destination_prefixes
from kupe_mcp.errors import CallRefused, ConfigError
from kupe_mcp.safety.clock import Clock, shown_time, utc_now


def _lazy_module(name: str) -> Any:
    """``name`` as a module whose code runs on first attribute access (``importlib.util.LazyLoader``)."""
    import importlib.util
    import sys

    if name in sys.modules:  # already imported (eagerly or lazily): one module object, one set of classes
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


if TYPE_CHECKING:
    import phonenumbers
else:  # loaded on first use: a server that places no call never pays for phonenumbers' metadata (cold start)
    phonenumbers = _lazy_module("phonenumbers")

__all__ = [
    "ASSUMED_CALL_S",
    "TOKEN_TTL_S",
    "CallGuards",
    "CallPlan",
    "CallPolicy",
    "Destination",
    "PriorCall",
    "Recent",
    "Slot",
    "batch_overrun",
    "entry_matches",
    "request_digest",
]

TOKEN_TTL_S = 300.0
_HOUR = timedelta(hours=1)


@cache
def _refused_types() -> dict[int, str]:
    pnt = phonenumbers.PhoneNumberType
    return {
        pnt.PREMIUM_RATE: "a premium-rate number",
        pnt.SHARED_COST: "a shared-cost number",
        pnt.UAN: "a universal access (caller-pays) number",
        pnt.VOICEMAIL: "a voicemail access number",
    }


@cache
def _kinds() -> dict[int, str]:
    pnt = phonenumbers.PhoneNumberType
    return {
        pnt.MOBILE: "mobile",
        pnt.FIXED_LINE: "landline",
        pnt.FIXED_LINE_OR_MOBILE: "landline or mobile",
        pnt.TOLL_FREE: "toll-free",
        pnt.VOIP: "VoIP",
        pnt.PERSONAL_NUMBER: "personal number",
        pnt.PAGER: "pager",
    }


_EXAMPLE = "give it in international form, e.g. +919876543210"


def _hhmm(value: time) -> str:
    return "24:00" if value == time(23, 59, 59, 999999) else value.strftime("%H:%M")


@dataclass(frozen=True)
class CallPolicy:
    """The call-safety settings, parsed once."""

    default_region: str | None = None
    allowed: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()
    hours: tuple[time, time] | None = (time(9), time(21))
    confirm: bool = True
    repeat_window_s: float = 300.0
    max_per_hour: int = 20
    max_per_hour_total: int | None = None
    token_ttl_s: float = TOKEN_TTL_S
    hours_advisory: bool = False
    """The sandbox's setting: calling hours are still evaluated, but a call outside them gets a note, not a refusal."""

    @classmethod
    def from_settings(cls, settings: Settings) -> CallPolicy:
        """Raises ConfigError when KUPE_DEFAULT_REGION is not a region phonenumbers knows."""
        region = settings.default_region
        if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
            raise ConfigError(f"KUPE_DEFAULT_REGION={region!r} is not a known region: use a code such as IN or US.")
        return cls(
            default_region=region,
            allowed=parse_destination_prefixes(settings.allowed_destinations),
            blocked=parse_destination_prefixes(settings.blocked_destinations),
            hours=settings.calling_hours,
            confirm=settings.confirm_calls,
            repeat_window_s=settings.repeat_window_s,
            max_per_hour=settings.max_calls_per_hour,
            hours_advisory=settings.calling_hours_advisory,
            max_per_hour_total=settings.max_calls_per_hour_total,
        )

    @property
    def hours_text(self) -> str:
        return "off" if self.hours is None else f"{_hhmm(self.hours[0])}-{_hhmm(self.hours[1])}"


@dataclass(frozen=True)
class Destination:
    """A number that passed the "who" rules: E.164 plus what the preview shows about it."""

    e164: str
    country: str
    region: str
    kind: str
    time_zones: tuple[str, ...]
    allow_listed: bool

    def describe(self) -> str:
        """``+919876543210 (India, mobile)``."""
        details = ", ".join(part for part in (self.country, self.kind) if part)
        return f"{self.e164} ({details})" if details else self.e164


@dataclass(frozen=True)
class PriorCall:
    """A call this process placed (or a batch it started) to a number."""

    e164: str
    at: datetime
    ref: str

    def describe(self) -> str:
        """``request_id 1234 at 14:02 UTC``: fixed text (no "minutes ago"), so a question renders the same twice."""
        return f"{self.ref} at {shown_time(self.at)}"


@dataclass(frozen=True)
class CallPlan:
    """Every check passed for these destinations: what confirmation they need, and why."""

    destinations: tuple[Destination, ...]
    needs_confirmation: bool
    prior: tuple[PriorCall, ...]
    notes: tuple[str, ...]
    calls_left_this_hour: int

    @property
    def count(self) -> int:
        return len(self.destinations)


SlotState = str  # "pending" (being placed now), "placed", or "unknown" (Kupe's answer was lost)


@dataclass(frozen=True)
class Slot:
    """Hourly-volume slots one call or batch holds, and the numbers it rang (for the repeat window).

    ``state`` is ``pending`` while Kupe is being asked, ``placed`` once it answered, and
    ``unknown`` when its answer was lost (the call may be ringing: the slot is kept).
    """

    id: str
    at: datetime
    count: int
    numbers: tuple[str, ...]
    ref: str = "a call being placed now"
    state: SlotState = "pending"


@dataclass(frozen=True)
class Recent:
    """The state the "how often" rules judge: this tenant's slots in the last hour, and everyone's (operator cap)."""

    slots: tuple[Slot, ...] = ()
    everyone: tuple[tuple[datetime, int], ...] = ()


def request_digest(kind: str, **fields: Any) -> str:
    """A stable digest of a request's canonical, normalised arguments (what a token is bound to)."""
    canonical = json.dumps({"kind": kind, **fields}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class CallGuards:
    """The rules, pure: every state they judge (recent calls, a token's record) is passed in. One per server."""

    policy: CallPolicy = field(default_factory=CallPolicy)
    clock: Clock = utc_now

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = utc_now) -> CallGuards:
        return cls(CallPolicy.from_settings(settings), clock)

    # -- 1. who may be called ------------------------------------------------------------

    def destination(self, raw: str) -> Destination:
        """The E.164 destination for what a person typed, or CallRefused saying why it may not be called."""
        text = raw.strip()
        shown = repr(text[:40])
        if not text:
            raise CallRefused(f"Refused to call an empty number: {_EXAMPLE}.")
        number = self._parse(text, shown)
        if number.extension:
            raise CallRefused(
                f"Refused to call {shown}: it has an extension, which Kupe cannot dial; give the number without it."
            )
        if not phonenumbers.is_valid_number(number):
            raise CallRefused(self._why_invalid(number, shown, international=text.startswith("+")))
        refused_kind = _refused_types().get(phonenumbers.number_type(number))
        if refused_kind:
            raise CallRefused(f"Refused to call {shown}: it is {refused_kind}, which kupe-app-mcp never calls.")
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        costly = _costly_range(number)
        if costly and not self._explicitly_allowed(e164, number):
            raise CallRefused(
                f"Refused to call {e164}: it is {costly}, which costs far more than a normal call; "
                "kupe-app-mcp calls it only when KUPE_ALLOWED_DESTINATIONS names it (the number or its range)."
            )
        blocked = self._blocked_by(e164, self.policy.blocked)
        if blocked:
            raise CallRefused(
                f"Refused to call {e164}: it matches {blocked} in KUPE_BLOCKED_DESTINATIONS, "
                "so it may not be called from this server."
            )
        allow_listed = self._match(e164, self.policy.allowed) is not None
        if self.policy.allowed and not allow_listed:
            raise CallRefused(
                f"Refused to call {e164}: it is not on KUPE_ALLOWED_DESTINATIONS, the only numbers this server "
                "may call; ask whoever runs it to add the number."
            )
        region = phonenumbers.region_code_for_number(number) or ""
        return Destination(
            e164=e164,
            country=_country_name(number) or region,
            region=region,
            kind="satellite or international network" if costly else _kinds().get(phonenumbers.number_type(number), ""),
            time_zones=_zones_for(number),
            allow_listed=allow_listed,
        )

    def _parse(self, text: str, shown: str) -> phonenumbers.PhoneNumber:
        digits = "".join(c for c in text if c.isdigit())
        try:
            return phonenumbers.parse(text, self.policy.default_region)
        except phonenumbers.NumberParseException as exc:
            if not text.startswith("+") and 0 < len(digits) <= 6:
                reason = "it is a short code or emergency number, not a full phone number"
            elif exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE and text.startswith("+"):
                reason = "its country code does not exist"
            elif exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
                region = self.policy.default_region
                reason = (
                    "it has no valid country code"
                    if region
                    else "it has no country code and KUPE_DEFAULT_REGION is not set"
                )
            elif exc.error_type == phonenumbers.NumberParseException.TOO_LONG:
                reason = "it is too long to be a phone number"
            elif digits and exc.error_type != phonenumbers.NumberParseException.NOT_A_NUMBER:
                reason = "it is too short to be a phone number"
            else:
                reason = "it is not a phone number"
            raise CallRefused(f"Refused to call {shown}: {reason}; {_EXAMPLE}.") from None

    @staticmethod
    def _why_invalid(number: phonenumbers.PhoneNumber, shown: str, *, international: bool) -> str:
        from phonenumbers import shortnumberinfo

        region = phonenumbers.region_code_for_country_code(number.country_code or 0)
        nsn = phonenumbers.national_significant_number(number)
        known = region != phonenumbers.UNKNOWN_REGION
        if known and (
            shortnumberinfo.is_emergency_number(nsn, region)
            or shortnumberinfo.connects_to_emergency_number(nsn, region)
        ):
            return f"Refused to call {shown}: it is an emergency number, which kupe-app-mcp never calls."
        if not international and shortnumberinfo.is_possible_short_number(number) and len(nsn) <= 6:
            return (
                f"Refused to call {shown}: it is a short code or service number, not a full phone number; {_EXAMPLE}."
            )
        reason = phonenumbers.is_possible_number_with_reason(number)
        why = {
            phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "its country code does not exist",
            phonenumbers.ValidationResult.TOO_SHORT: "it is too short",
            phonenumbers.ValidationResult.TOO_LONG: "it is too long",
            phonenumbers.ValidationResult.INVALID_LENGTH: "it has the wrong number of digits",
        }.get(reason, "no such number exists")
        where = f" for {region}" if known else ""
        return f"Refused to call {shown}: it is not a valid phone number{where} ({why}); check the digits."

    def _match(self, e164: str, entries: Iterable[str]) -> str | None:
        """The first allow-list entry that admits ``e164`` (README "Call safety": full numbers match exactly)."""
        return next((e for e in entries if entry_matches(e164, e)), None)

    @staticmethod
    def _blocked_by(e164: str, entries: Iterable[str]) -> str | None:
        """Blocking fails closed: every block-list entry blocks all numbers that start with it."""
        return next((e for e in entries if e164.startswith(e.rstrip("*"))), None)

    def _explicitly_allowed(self, e164: str, number: phonenumbers.PhoneNumber) -> bool:
        """On the allow-list by an entry narrower than a whole country (``+881``, ``+4470``, or the number)."""
        code = str(number.country_code)
        narrowest = len(code) if phonenumbers.region_code_for_number(number) == "001" else len(code) + 1
        return any(entry_matches(e164, e) and len(e.strip("+*")) >= narrowest for e in self.policy.allowed)

    # -- 2. when ------------------------------------------------------------------------------

    def check_hours(self, dest: Destination) -> str | None:
        """CallRefused when it is outside calling hours in any of the number's zones; a note when none is known.

        With ``hours_advisory`` (the sandbox) being outside them is a note saying what would be refused.
        """
        hours = self.policy.hours
        if hours is None:
            return None
        zones = [z for z in (_zone(name) for name in dest.time_zones) if z is not None]
        if not zones:
            return f"No time zone is known for {dest.e164}: calling hours ({self.policy.hours_text}) were not checked."
        now = self.clock()
        for zone in zones:
            local = now.astimezone(zone)
            if not _within(local.time(), hours):
                where = f"in {zone.key}" + (" (one of the number's time zones)" if len(zones) > 1 else "")
                if self.policy.hours_advisory:
                    # Named without the number, so a batch's rows in one zone share one note.
                    return (
                        f"It is {local:%H:%M} {where}, outside the calling hours {self.policy.hours_text} "
                        "(KUPE_CALLING_HOURS): against the real Kupe API this would be refused; the sandbox "
                        "dials nothing, so it goes ahead."
                    )
                raise CallRefused(
                    f"Refused to call {dest.e164}: it is {local:%H:%M} {where}, outside the calling hours "
                    f"{self.policy.hours_text} (KUPE_CALLING_HOURS); try again when it is within them there."
                )
        return None

    # -- 3. how often (pure: judged over a Recent snapshot the state store read) ------------------

    def _live(self, recent: Recent) -> list[Slot]:
        cutoff = self.clock() - _HOUR
        return sorted((e for e in recent.slots if e.at > cutoff), key=lambda e: e.at)

    def check_volume(self, recent: Recent, count: int, what: str) -> int:
        """How many calls are left this hour after ``count`` more, or CallRefused saying when a slot frees.

        Checks this tenant's KUPE_MAX_CALLS_PER_HOUR, then the operator-wide
        KUPE_MAX_CALLS_PER_HOUR_TOTAL when set.
        """
        cap = self.policy.max_per_hour
        events = [(e.at, e.count) for e in self._live(recent)]
        left = self._under_cap(events, count, cap, "KUPE_MAX_CALLS_PER_HOUR", what)
        total = self.policy.max_per_hour_total
        if total is not None:
            cutoff = self.clock() - _HOUR
            everyone = sorted((at, n) for at, n in recent.everyone if at > cutoff)
            self._under_cap(everyone, count, total, "KUPE_MAX_CALLS_PER_HOUR_TOTAL (for the whole server)", what)
        return left

    def _under_cap(self, events: list[tuple[datetime, int]], count: int, cap: int, name: str, what: str) -> int:
        used = sum(n for _, n in events)
        if used + count <= cap:
            return cap - used - count
        setting = name.split(" ", 1)[0]
        if count > cap:
            raise CallRefused(
                f"Refused to {what}: {count} calls is more than {setting} ({cap}) allows in an hour; "
                "split it or ask whoever runs this server to raise the limit."
            )
        freed, frees_at = 0, self.clock()
        for at, n in events:
            freed += n
            frees_at = at + _HOUR
            if used - freed + count <= cap:
                break
        minutes = max(1, round((frees_at - self.clock()).total_seconds() / 60))
        raise CallRefused(
            f"Refused to {what}: {used} calls were placed in the last hour and {name} is {cap}; "
            f"enough slots free at {shown_time(frees_at)} (in about {minutes} min), try again then."
        )

    def prior_call(self, recent: Recent, e164: str) -> PriorCall | None:
        """The latest call to ``e164`` within KUPE_REPEAT_WINDOW_S, if any.

        An attempt whose outcome is unknown counts for the whole hour: it may be ringing,
        so any redial needs a fresh confirmation that names it.
        """
        now = self.clock()
        cutoff = now - timedelta(seconds=self.policy.repeat_window_s)
        hits = [e for e in self._live(recent) if e164 in e.numbers and (e.at > cutoff or e.state == "unknown")]
        if not hits:
            return None
        latest = max(hits, key=lambda e: e.at)
        return PriorCall(e164=e164, at=latest.at, ref=latest.ref)

    # -- everything together ------------------------------------------------------------------

    def screen(self, numbers: Sequence[str], *, what: str) -> tuple[tuple[Destination, ...], tuple[str, ...]]:
        """The "who" and "when" rules for ``numbers`` (one call, or a batch's rows): destinations and notes.

        ``what`` completes "Refused to …" for batch-level refusals, e.g. "start batch 1234".
        Raises CallRefused: for one number with its own sentence, for several with the first
        few refused rows and their reasons.
        """
        destinations: list[Destination] = []
        notes: list[str] = []
        refused: list[str] = []
        for raw in numbers:
            try:
                dest = self.destination(raw)
                note = self.check_hours(dest)
            except CallRefused as exc:
                refused.append(str(exc))
                continue
            destinations.append(dest)
            if note and note not in notes:
                notes.append(note)
        if refused:
            if len(numbers) == 1:
                raise CallRefused(refused[0])
            rows = [r.removeprefix("Refused to call ").rstrip(".") for r in refused[:3]]
            more = f" (and {len(refused) - 3} more)" if len(refused) > 3 else ""
            raise CallRefused(
                f"Refused to {what}: {len(refused)} of {len(numbers)} numbers may not be called now "
                f"({'; '.join(rows)}{more}); fix or remove those rows, then try again."
            )
        return tuple(destinations), tuple(notes)

    def assess(
        self, destinations: Sequence[Destination], notes: Sequence[str], recent: Recent, *, what: str
    ) -> CallPlan:
        """The "how often" rules over ``recent``, and whether a person must confirm."""
        left = self.check_volume(recent, len(destinations), what)
        prior = tuple(
            p for p in (self.prior_call(recent, d.e164) for d in dict.fromkeys(destinations)) if p is not None
        )
        unattended = not self.policy.confirm and bool(destinations) and all(d.allow_listed for d in destinations)
        return CallPlan(
            destinations=tuple(destinations),
            needs_confirmation=bool(prior) or not unattended,
            prior=prior,
            notes=tuple(notes),
            calls_left_this_hour=left,
        )

    def check_pace(self, plan: CallPlan, *, calls_at_once: object, what: str) -> None:
        """CallRefused when a batch's rows cannot all be dialled before calling hours end (``batch_overrun``).

        ``calls_at_once`` is the batch's ``batch_size`` as Kupe reports it; missing or unreadable counts as 1
        (Kupe's default, and the slowest pace: failing closed).
        """
        try:
            calls_at_once = max(1, int(str(calls_at_once)))
        except ValueError:
            calls_at_once = 1
        zones = [z for d in plan.destinations for z in d.time_zones]
        over = batch_overrun(
            zones, rows=plan.count, calls_at_once=calls_at_once, now=self.clock(), hours=self.policy.hours
        )
        if over is None:
            return
        zone, end, needs = over
        minutes_left = max(0, round((end - self.clock()).total_seconds() / 60))
        raise CallRefused(
            f"Refused to {what}: dialled {calls_at_once} at a time at about {ASSUMED_CALL_S / 60:g} min a call, "
            f"its {plan.count} rows need about {_duration(needs)}, but calling hours ({self.policy.hours_text}) end "
            f"in {zone} in {minutes_left} min; split the batch, raise its batch_size, or start it earlier."
        )

    def plan(self, numbers: Sequence[str], *, what: str, recent: Recent | None = None) -> CallPlan:
        """Every rule on ``numbers`` against ``recent`` (nothing called yet when omitted); see ``screen``."""
        destinations, notes = self.screen(numbers, what=what)
        return self.assess(destinations, notes, recent or Recent(), what=what)

    # -- 4. confirmation tokens ----------------------------------------------------------------

    def check_token(self, held: tuple[str, datetime] | None, digest: str) -> None:
        """Judge a redeemed token's record (its bound digest and expiry; None when unknown or used).

        The state store takes the record atomically, so every attempt uses the token up and it
        can be neither probed nor replayed.
        """
        again = "call again without confirmation_token for a fresh preview, and ask the person again"
        if held is None:
            raise CallRefused(f"Refused: this confirmation_token is unknown or already used; {again}.")
        bound, expires = held
        if self.clock() >= expires:
            minutes = self.policy.token_ttl_s / 60
            raise CallRefused(f"Refused: this confirmation_token expired (tokens last {minutes:g} minutes); {again}.")
        if not secrets.compare_digest(bound, digest):
            raise CallRefused(
                "Refused: this confirmation_token was issued for different arguments (or an earlier call to the "
                f"number has happened since); {again}."
            )


def _duration(span: timedelta) -> str:
    minutes = round(span.total_seconds() / 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _within(now: time, hours: tuple[time, time]) -> bool:
    start, end = hours
    return start <= now < end if start < end else (now >= start or now < end)


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _country_name(number: phonenumbers.PhoneNumber) -> str:
    """The country's English name for previews.

    Imported here, not at the top: the geocoder's locale data takes about half a second
    and 100 MB to load, which start-up (``initialize``) must not pay; only a call does.
    """
    from phonenumbers import geocoder

    name: str = geocoder.country_name_for_number(number, "en")
    return name


def _zones_for(number: phonenumbers.PhoneNumber) -> tuple[str, ...]:
    """Time zones the number may ring in; the country's zones when the number's own are unknown."""
    from phonenumbers import timezone as phone_timezones

    unknown = phone_timezones.UNKNOWN_TIMEZONE
    zones = [z for z in phone_timezones.time_zones_for_number(number) if z != unknown]
    if not zones:
        country_level = getattr(phone_timezones, "_country_level_time_zones_for_number", None)
        if country_level is not None:
            zones = [z for z in country_level(number) if z != unknown]
    return tuple(zones)


# -- costly ranges and allow-list entries ------------------------------------------------------

# Country codes that belong to no country (phonenumbers' region "001"): satellite phones (+870 Inmarsat,
# +881 GMSS), international networks (+882, +883), UPT (+878), and the like. They look like mobiles
# to phonenumbers, cost many times a normal call and ring in no time zone.
_NON_GEOGRAPHIC = {
    870: "a satellite phone number (Inmarsat, +870)",
    881: "a satellite phone number (+881)",
    882: "an international-network number (+882)",
    883: "an international-network number (+883)",
    878: "a universal personal number (+878)",
}


def _costly_range(number: phonenumbers.PhoneNumber) -> str | None:
    """What makes ``number`` a costly range kupe-app-mcp refuses unless allow-listed, or None."""
    if phonenumbers.region_code_for_number(number) == "001":
        return _NON_GEOGRAPHIC.get(number.country_code or 0, "a number of no country (a satellite or global service)")
    if phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.PERSONAL_NUMBER:
        return "a personal (follow-me) number, such as the UK's 070 range, which is charged like a premium line"
    return None


@lru_cache(maxsize=1024)
def _is_full_number(entry: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(entry, None))
    except phonenumbers.NumberParseException:
        return False


def entry_matches(e164: str, entry: str) -> bool:
    """Whether an allow-list entry admits ``e164``.

    The one rule (README "Call safety"): an entry ending in ``*`` is a prefix (``+1415555*``); an entry
    that is a valid full phone number matches that number exactly; any other entry (``+91``, ``+1415555``,
    too short to be a number) is a prefix, as before.
    """
    if entry.endswith("*"):
        return e164.startswith(entry[:-1])
    if _is_full_number(entry):
        return e164 == entry
    return e164.startswith(entry)


# -- how long a batch rings ----------------------------------------------------------------------

# Kupe dials a batch in waves of ``batch_size`` concurrent calls, the next wave as calls complete
# (POST /api/v1/batch-call/start). Kupe documents no call length; this is the assumed length of one.
ASSUMED_CALL_S = 180.0


def batch_overrun(
    zones: Iterable[str],
    *,
    rows: int,
    calls_at_once: int,
    now: datetime,
    hours: tuple[time, time] | None,
    call_s: float = ASSUMED_CALL_S,
) -> tuple[str, datetime, timedelta] | None:
    """The first time zone where a batch's last wave would start after calling hours end, or None.

    Returns (zone, the window's end there, how long the batch needs). ``now`` is assumed inside the
    window in every zone (``check_hours`` ran first). Pure: no clock, no state.
    """
    if hours is None or rows <= 0:
        return None
    waves = -(-rows // max(1, calls_at_once))
    needs = timedelta(seconds=(waves - 1) * call_s)
    last_start = now + needs
    for name in dict.fromkeys(zones):
        zone = _zone(name)
        if zone is None:
            continue
        local = now.astimezone(zone)
        end = datetime.combine(local.date(), hours[1], tzinfo=zone)
        if end <= local:
            end += timedelta(days=1)  # a window that wraps midnight ends tomorrow
        if last_start.astimezone(zone) >= end:
            return name, end, needs + timedelta(seconds=call_s)
    return None
