"""Deterministic seed data: catalog, demo users and keys, phone lines, a demo agent and its history.

Ids are uuid5 of stable names, so docs, demos and tests can rely on them across runs.
Seeding happens once per database (a persisted file keeps its own state).
"""

from __future__ import annotations

import hashlib
from typing import Any

from . import _agents, _ledger, _sim
from ._config import DEMO_API_KEY, DEMO_BEARER_TOKEN, LIMITED_API_KEY, NO_CREDIT_API_KEY
from ._state import Sandbox, iso, stable_id
from ._store import Doc, Store

DEMO_USER_ID = stable_id("user/demo")
NOCREDIT_USER_ID = stable_id("user/nocredit")
DEMO_ORG_ID = stable_id("org/demo")
DEMO_AGENT_ID = stable_id("agent/demo")
DEMO_RULE_ID = stable_id("rule/lead-qualification")
IN_PHONE_ID = stable_id("phone/in")
US_PHONE_ID = stable_id("phone/us")
NOCREDIT_PHONE_ID = stable_id("phone/nocredit")
DEMO_BALANCE_USD = 25.0
# Unanswered calls seeded before the one completed call: the call log is longer than one page (20), so the
# total Kupe reports is visible (and a client that counts the page instead would say 20, not the total).
HISTORY_CALLS = 24
NO_ANSWER = "No answer: the callee did not pick up (sandbox history)"

LIMITED_SCOPES = ("GET /api/v1/me", "GET /api/v1/agents", "GET /api/v1/agents/*", "HEAD /api/v1/agents*")

# (category, provider_name, model_name, is_default, extra)
_PROVIDERS: list[tuple[str, str, str, bool, dict[str, Any]]] = [
    ("llm", "openai", "gpt-4.1-mini", True, {"is_large_model": False}),
    ("llm", "openai", "gpt-4o-mini", False, {"is_large_model": False}),
    ("llm", "openai", "gpt-4.1", False, {"is_large_model": True}),
    ("llm", "google", "gemini-2.0-flash", False, {"is_large_model": False}),
    ("llm", "google", "gemini-2.5-flash", False, {"is_large_model": False}),
    ("llm", "groq", "llama-3.3-70b-versatile", False, {"is_large_model": True}),
    ("tts", "sarvam", "bulbul:v2", True, {"supported_languages": ["hi-IN", "en-IN", "ta-IN", "te-IN", "bn-IN"]}),
    ("tts", "elevenlabs", "eleven_flash_v2_5", False, {"supported_languages": ["en", "hi", "es", "fr", "de"]}),
    ("tts", "elevenlabs", "eleven_multilingual_v2", False, {"supported_languages": ["en", "hi", "es", "fr", "de"]}),
    ("tts", "cartesia", "sonic-2", False, {"supported_languages": ["en", "hi", "es"]}),
    ("stt", "sarvam", "saarika:2.5", True, {"supported_languages": ["hi-IN", "en-IN", "ta-IN", "te-IN", "gu-IN"]}),
    ("stt", "deepgram", "nova-3", False, {"supported_languages": ["en", "en-US", "hi", "es"]}),
    ("stt", "deepgram", "nova-2", False, {"supported_languages": ["en", "en-US", "hi"]}),
    ("stt", "openai", "whisper-1", False, {"supported_languages": ["en", "hi", "es", "fr"]}),
    ("vad", "silero", "silero", True, {}),
]
_API_BASES = {
    "openai": "https://api.openai.com/v1",
    "google": "https://generativelanguage.googleapis.com/v1beta",
    "groq": "https://api.groq.com/openai/v1",
    "sarvam": "https://api.sarvam.ai",
    "elevenlabs": "https://api.elevenlabs.io/v1",
    "cartesia": "https://api.cartesia.ai",
    "deepgram": "https://api.deepgram.com/v1",
    "silero": "local://silero-vad",
}
# (voice name, tts model_name, gender, language, provider voice id)
_VOICES = [
    ("Anushka", "bulbul:v2", "female", "hi-IN", "anushka"),
    ("Manisha", "bulbul:v2", "female", "hi-IN", "manisha"),
    ("Vidya", "bulbul:v2", "female", "en-IN", "vidya"),
    ("Arya", "bulbul:v2", "female", "en-IN", "arya"),
    ("Abhilash", "bulbul:v2", "male", "hi-IN", "abhilash"),
    ("Karun", "bulbul:v2", "male", "en-IN", "karun"),
    ("Hitesh", "bulbul:v2", "male", "hi-IN", "hitesh"),
    ("Rachel", "eleven_flash_v2_5", "female", "en", "21m00Tcm4TlvDq8ikWAM"),
    ("Adam", "eleven_flash_v2_5", "male", "en", "pNInz6obpgDQGcFmaJgB"),
    ("Bella", "eleven_multilingual_v2", "female", "en", "EXAVITQu4vr4xnSDxMaL"),
    ("Antoni", "eleven_multilingual_v2", "male", "en", "ErXwobaYiN019PkySvjV"),
    ("Katie", "sonic-2", "female", "en", "f786b574-daa5-4673-aa0c-cbe3e8534c02"),
]
NOISE_ASSETS = ["office_noise", "office_ambience_sound", "cafe_ambience", "call_center", "street_traffic", "rain"]

DEMO_SYSTEM_PROMPT = (
    "You are Asha, a friendly appointment assistant for Sunrise Dental Clinic. "
    "Greet {{name}} warmly, confirm their appointment on {{appointment_date}}, answer questions about "
    "timings (9am-7pm, Monday to Saturday) and offer to reschedule if needed. Keep answers under two sentences."
)
DEMO_WELCOME = "Hi {{name}}, this is Asha from Sunrise Dental Clinic. Is this a good time to talk?"


def key_hash(secret: str) -> str:
    """Keys and session tokens are stored hashed; lookups hash the presented credential."""
    return hashlib.sha256(secret.encode()).hexdigest()


def seed(sb: Sandbox) -> None:
    store = sb.store
    if store.meta("seeded"):
        return
    now = sb.now()
    with store.transaction():
        _seed_catalog(store, now)
        _seed_people(store, now)
        _seed_demo_world(sb, now)
        store.set_meta("seeded", iso(now))


def _seed_catalog(store: Store, now: float) -> None:
    created = iso(now - 90 * 86400)
    for category, provider, model, default, extra in _PROVIDERS:
        store.put(
            "provider",
            {
                "id": stable_id(f"provider/{category}/{provider}/{model}"),
                "category": category,
                "provider_name": provider,
                "model_name": model,
                "is_large_model": extra.get("is_large_model", False),
                "default_temperature": 0.7 if category == "llm" else None,
                "api_base": _API_BASES[provider],
                "is_default": default,
                "supported_languages": extra.get("supported_languages", []),
                "created_at": created,
            },
        )
    for name, model, gender, language, voice_id in _VOICES:
        row = store.find("provider", category="tts", model_name=model)
        assert row is not None
        store.put(
            "tts_voice",
            {
                "id": stable_id(f"voice/{model}/{name}"),
                "name": name,
                "voice_name": name,
                "voice_id": voice_id,
                "provider_id": row["id"],
                "provider_name": row["provider_name"],
                "tts_model_name": model,
                "gender": gender,
                "language": language,
                "preview_url": f"https://sandbox.kupe.local/voices/{name.lower()}.mp3",
                "created_at": created,
            },
        )
    for asset in NOISE_ASSETS:
        store.put("noise_asset", {"id": f"{asset}.wav", "name": asset})


def _seed_people(store: Store, now: float) -> None:
    created = iso(now - 60 * 86400)
    store.put(
        "org",
        {
            "id": DEMO_ORG_ID,
            "name": "Sunrise Voice Partners",
            "org_type": "channel_partner",
            "commission_percentage": 10.0,
            "markup_percentage": 20.0,
            "markup_currency": "USD",
            "created_at": created,
            "updated_at": created,
        },
    )
    flags = {"outbound": True, "call_analytics": True, "call_logs": True, "knowledge_base": True, "webhooks": True}
    for uid, email, name, phone in (
        (DEMO_USER_ID, "demo@sandbox.kupe.local", "Demo User", "+919800000001"),
        (NOCREDIT_USER_ID, "nocredit@sandbox.kupe.local", "No Credit User", None),
    ):
        store.put(
            "user",
            {
                "id": uid,
                "email": email,
                "full_name": name,
                "phone": phone,
                "org_id": DEMO_ORG_ID,
                "org_role": "org_admin" if uid == DEMO_USER_ID else "member",
                "user_metadata": {
                    "full_name": name,
                    "avatar_url": f"https://sandbox.kupe.local/avatars/{uid}.png",
                    "company": "Sunrise Dental Clinic" if uid == DEMO_USER_ID else "Sandbox Co",
                },
                "feature_flags": dict(flags),
                "created_at": created,
            },
        )
        _ledger.new_wallet(store, owner_type="user", user_id=uid, org_id=DEMO_ORG_ID, now=now - 60 * 86400)
    org_wallet = _ledger.new_wallet(store, owner_type="org", user_id=None, org_id=DEMO_ORG_ID, now=now - 60 * 86400)
    _ledger.post_entry(store, org_wallet, 500.0, "grant", now - 60 * 86400, note="Sandbox partner float")
    for secret, uid, name, scopes in (
        (DEMO_API_KEY, DEMO_USER_ID, "Sandbox demo key", ()),
        (LIMITED_API_KEY, DEMO_USER_ID, "Sandbox read-only agents key", LIMITED_SCOPES),
        (NO_CREDIT_API_KEY, NOCREDIT_USER_ID, "Sandbox no-credit key", ()),
    ):
        store.put(
            "api_key",
            {
                "id": stable_id(f"api_key/{secret}"),
                "user_id": uid,
                "name": name,
                "provider_name": "milli_chat_ai",
                "secret_hash": key_hash(secret),
                "key_prefix": secret[:13],
                "role": "developer",
                "scopes": list(scopes),
                "is_active": True,
                "created_at": created,
                "revoked_at": None,
            },
        )
    store.put(
        "session",
        {"id": key_hash(DEMO_BEARER_TOKEN), "user_id": DEMO_USER_ID, "role": "super_admin", "created_at": created},
    )


def _phone(store: Store, pid: str, uid: str, number: str, country: str, region: str, provider: str, now: float) -> Doc:
    return store.put(
        "phone",
        {
            "id": pid,
            "user_id": uid,
            "phone_number": number,
            "friendly_name": f"Sandbox {country} line",
            "country_code": country,
            "region": region,
            "provider": provider,
            "telephony_provider": "pstn",
            "is_active": True,
            "agent_id": None,
            "workflow_id": None,
            "created_at": iso(now - 45 * 86400),
            "updated_at": iso(now - 45 * 86400),
        },
    )


def _seed_demo_world(sb: Sandbox, now: float) -> None:
    store = sb.store
    in_line = _phone(store, IN_PHONE_ID, DEMO_USER_ID, "+918035550101", "IN", "Karnataka", "exotel", now)
    _phone(store, US_PHONE_ID, DEMO_USER_ID, "+14155550123", "US", "California", "twilio", now)
    _phone(store, NOCREDIT_PHONE_ID, NOCREDIT_USER_ID, "+12125550188", "US", "New York", "twilio", now)
    store.put(
        "rule",
        {
            "id": DEMO_RULE_ID,
            "user_id": DEMO_USER_ID,
            "name": "Lead qualification",
            "description": "Classify the callee's interest after every call.",
            "rule_type": "structured_output",
            "prompt": "Read the transcript and classify the lead.",
            "output_schema": {
                "type": "object",
                "properties": {
                    "lead_status": {"type": "string", "enum": ["Interested", "Follow-up Required", "Not Interested"]},
                    "lead_temperature": {"type": "string", "enum": ["Warm", "Hot", "Cold"]},
                    "appointment_confirmed": {"type": "boolean"},
                    "call_summary": {"type": "string"},
                },
            },
            "is_active": True,
            "created_at": iso(now - 30 * 86400),
            "updated_at": iso(now - 30 * 86400),
        },
    )
    agent = _agents.new_agent(
        store,
        user_id=DEMO_USER_ID,
        now=now - 30 * 86400,
        agent_in={
            "name": "Sunrise Dental Receptionist",
            "description": "Confirms and reschedules dental appointments (sandbox demo agent).",
            "first_response_message": DEMO_WELCOME,
            "is_active": True,
        },
        sections={"agent_model_config": {"model_name": "gpt-4.1-mini", "system_prompt": DEMO_SYSTEM_PROMPT}},
        agent_id=DEMO_AGENT_ID,
    )
    agent["rule_ids"] = [DEMO_RULE_ID]
    store.put("agent", agent)
    in_line["agent_id"] = agent["id"]
    store.put("phone", in_line)
    for i in range(HISTORY_CALLS):
        _sim.place_call(
            store,
            user_id=DEMO_USER_ID,
            agent=agent,
            workflow_id=None,
            target=f"+9198450{i + 1:05d}",
            phone=in_line,
            variable_values={},
            created_ts=now - (HISTORY_CALLS + 2 - i) * 86400,
            step_s=sb.settings.call_step_s or 2.0,
            fail_reason=NO_ANSWER,
        )
    placed = now - 86400
    call = _sim.place_call(
        store,
        user_id=DEMO_USER_ID,
        agent=agent,
        workflow_id=None,
        target="+919876543210",
        phone=in_line,
        variable_values={"name": "Priya", "appointment_date": "Friday at 11am"},
        created_ts=placed,
        step_s=sb.settings.call_step_s or 2.0,
    )
    # Fund the wallet so that, once the seeded call is billed, the demo balance is exactly DEMO_BALANCE_USD.
    _, duration = _sim.build_transcript(call, placed)
    cost = round(duration / 60 * _sim.USD_PER_MINUTE, 4)
    wallet = _ledger.user_wallet(store, DEMO_USER_ID)
    _ledger.post_entry(
        store, wallet, DEMO_BALANCE_USD + cost, "grant", now - 40 * 86400, note="Sandbox welcome credits"
    )
    store.put(
        "grant",
        {
            "id": stable_id("grant/welcome"),
            "wallet_id": wallet["id"],
            "user_id": DEMO_USER_ID,
            "amount_usd": DEMO_BALANCE_USD + cost,
            "note": "Sandbox welcome credits",
            "expires_at": None,
            "granted_by": "sandbox",
            "created_at": iso(now - 40 * 86400),
        },
    )
    _sim.refresh_call(sb, call)
