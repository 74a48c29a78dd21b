#!/usr/bin/env python3
"""The driver of `make e2e-unleash` (scripts/e2e-unleash.sh starts PostgreSQL and Unleash, then this).

Starts a receiver and Hookline (catch-up poller on, pointed at the real Unleash), subscribes a
Hookline webhook to every event, configures Unleash's Webhook addon to post to Hookline's intake,
makes flag changes through Unleash's admin API (some while the addon is disabled, so only the
poller can bring them), then checks that the receiver got every Unleash event created after
Hookline started exactly once, by Unleash event id. Prints counts and timings; exits 1 on any
missing or duplicated event. Standard library only.
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UNLEASH = os.environ["E2E_UNLEASH_URL"].rstrip("/")
UNLEASH_TOKEN = os.environ["E2E_UNLEASH_TOKEN"]
HOOKLINE_BIN = os.environ["E2E_HOOKLINE_BIN"]
WORK = os.environ["E2E_WORK"]
HOOKLINE_PORT = int(os.environ["E2E_HOOKLINE_PORT"])
CHANGES = int(os.environ.get("E2E_CHANGES", "300"))
DARK_CHANGES = int(os.environ.get("E2E_DARK_CHANGES", "60"))
POLL = os.environ.get("E2E_POLL", "2s")
WORKERS = int(os.environ.get("E2E_WORKERS", "4"))
DEADLINE_S = float(os.environ.get("E2E_DEADLINE", "180"))
# Unleash keeps its list of enabled addons for a minute (addon-service.js: memoizee, maxAge 1 min)
# and does not clear it when an addon is created or changed: a new, disabled or re-enabled addon
# takes effect up to 60 s later. Each addon change is followed by this wait, with no flag changes.
ADDON_CACHE_S = float(os.environ.get("E2E_ADDON_CACHE", "62"))
HOOKLINE = f"http://127.0.0.1:{HOOKLINE_PORT}"
T0 = time.monotonic()


def log(message):
    print(f"[e2e-unleash {time.monotonic() - T0:7.1f}s] {message}", file=sys.stderr, flush=True)


def request(method, url, token=None, body=None, expect=(200, 201, 202, 204)):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode(errors="replace")
    if status not in expect:
        raise RuntimeError(f"{method} {url} answered {status}: {text[:500]}")
    return json.loads(text) if text.strip().startswith(("{", "[")) else text


def unleash(method, path, body=None):
    return request(method, UNLEASH + path, UNLEASH_TOKEN, body)


# --- the receiver: records every body Hookline delivers, with the time it arrived ---------------
received = []  # (monotonic time, wall time, parsed body)
received_lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        now = (time.monotonic(), time.time())
        try:
            event = json.loads(body)
        except ValueError:
            event = None
        with received_lock:
            received.append((now[0], now[1], event))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def start_receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/hook"


# --- Unleash's events -----------------------------------------------------------------------
def unleash_events_after(after_id):
    """Every Unleash event with id > after_id (the search endpoint pages newest first)."""
    events, offset = {}, 0
    while True:
        page = unleash("GET", f"/api/admin/search/events?offset={offset}&limit=500")["events"]
        for event in page:
            if event["id"] > after_id:
                events[event["id"]] = event
        if len(page) < 500 or min(e["id"] for e in page) <= after_id:
            return events
        offset += len(page)


def newest_unleash_id():
    page = unleash("GET", "/api/admin/search/events?offset=0&limit=1")["events"]
    return page[0]["id"] if page else 0


# --- flag changes -----------------------------------------------------------------------------
def flag_changes(prefix, count):
    """`count` changes through the admin API: create a flag, enable it in development (Unleash adds
    its default strategy too), disable it; three changes a flag. Several at once, like a team."""
    flags = (count + 2) // 3

    def one_flag(n):
        name = f"{prefix}-{n}"
        done = 0
        unleash("POST", "/api/admin/projects/default/features", {"name": name})
        done += 1
        for state in ("on", "off"):
            if done >= count:
                break
            unleash("POST", f"/api/admin/projects/default/features/{name}/environments/development/{state}")
            done += 1
        return done

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return sum(pool.map(one_flag, range(flags)))


def set_addon(addon, enabled):
    body = {k: addon[k] for k in ("provider", "description", "parameters", "events", "projects", "environments")}
    body["enabled"] = enabled
    unleash("PUT", f"/api/admin/addons/{addon['id']}", body)


# --- Hookline ---------------------------------------------------------------------------------
def hookline_cli(*args):
    env = dict(os.environ, HOOKLINE_DATABASE_URL=f"sqlite://{WORK}/hookline.db", RUST_LOG="warn")
    return subprocess.run([HOOKLINE_BIN, *args], env=env, check=True, capture_output=True, text=True).stdout.strip()


def metric(admin, name):
    text = request("GET", HOOKLINE + "/metrics", admin)
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def hookline_events(admin):
    """Hookline's event log: Unleash event id -> whether the catch-up brought it."""
    out, before = {}, None
    while True:
        query = "?limit=500" + (f"&before={before}" if before else "")
        page = request("GET", HOOKLINE + "/api/admin/events" + query, admin)
        for event in page["items"]:
            out[event["id"]] = event["caughtUp"]
        before = page.get("nextCursor")
        if not before:
            return out


def wait(what, done, timeout=60.0, every=0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = done()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(every)


def percentiles(values):
    if not values:
        return "-"
    values = sorted(values)
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]
    return f"p50 {pick(0.5):.0f} ms, p95 {pick(0.95):.0f} ms, max {values[-1]:.0f} ms"


def main():
    receiver, receiver_url = start_receiver()
    intake = hookline_cli("token", "create", "--name", "unleash-addon", "--scope", "events")
    admin = "Bearer " + hookline_cli("token", "create", "--name", "e2e", "--scope", "admin")
    baseline = newest_unleash_id()
    log(f"Unleash's newest event before Hookline starts: {baseline}")

    env = dict(
        os.environ,
        HOOKLINE_ADDR=f"127.0.0.1:{HOOKLINE_PORT}",
        HOOKLINE_DATABASE_URL=f"sqlite://{WORK}/hookline.db",
        HOOKLINE_PUBLIC_URL=HOOKLINE,
        HOOKLINE_ALLOWED_TARGETS="127.0.0.1/32",
        HOOKLINE_UNLEASH_URL=UNLEASH,
        HOOKLINE_UNLEASH_TOKEN=UNLEASH_TOKEN,
        HOOKLINE_UNLEASH_POLL=POLL,
        RUST_LOG=os.environ.get("RUST_LOG", "info"),
    )
    with open(f"{WORK}/hookline.log", "w") as out:
        hookline = subprocess.Popen([HOOKLINE_BIN], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        return run(hookline, admin, intake, receiver_url, baseline)
    finally:
        hookline.terminate()
        try:
            hookline.wait(timeout=20)
        except subprocess.TimeoutExpired:
            hookline.kill()
        receiver.shutdown()


def run(hookline, admin, intake, receiver_url, baseline):
    def healthy():
        if hookline.poll() is not None:
            raise RuntimeError(f"Hookline exited ({hookline.returncode}): see {WORK}/hookline.log")
        try:
            return request("GET", HOOKLINE + "/healthz") is not None
        except (OSError, RuntimeError):
            return False

    wait("Hookline to answer /healthz", healthy, timeout=60)
    request("POST", HOOKLINE + "/api/admin/webhooks", admin, {"url": receiver_url, "events": ["*"], "description": "e2e receiver"})
    # The catch-up's first poll starts its cursor at Unleash's newest event: Unleash must not change
    # before it, or those changes would be neither sent nor caught up.
    wait("the catch-up's first poll", lambda: (metric(admin, "hookline_unleash_last_success_timestamp_seconds") or 0) > 0)
    log("Hookline is up and its catch-up poller has started")

    addon_events = next(p for p in unleash("GET", "/api/admin/addons")["providers"] if p["name"] == "webhook")["events"]
    addon = unleash(
        "POST",
        "/api/admin/addons",
        {
            "provider": "webhook",
            "enabled": True,
            "description": "Hookline (make e2e-unleash)",
            "parameters": {"url": HOOKLINE + "/api/events", "authorization": f"Bearer {intake}", "contentType": "application/json"},
            "events": addon_events,
            "projects": [],
            "environments": [],
        },
    )
    log(f"Unleash's Webhook addon {addon['id']} posts its {len(addon_events)} event types to {HOOKLINE}/api/events")
    log(f"waiting {ADDON_CACHE_S:.0f}s: Unleash caches its addon list for a minute")
    time.sleep(ADDON_CACHE_S)

    started = time.monotonic()
    made = flag_changes("e2e", CHANGES)
    phase_a = time.monotonic() - started
    log(f"{made} flag changes with the addon on, in {phase_a:.1f}s ({made / phase_a:.0f}/s)")

    set_addon(addon, False)
    log(f"addon disabled; waiting {ADDON_CACHE_S:.0f}s for Unleash's addon cache")
    time.sleep(ADDON_CACHE_S)
    started = time.monotonic()
    dark_after = newest_unleash_id()
    dark = flag_changes("dark", DARK_CHANGES)
    dark_ids = set(unleash_events_after(dark_after))
    phase_b = time.monotonic() - started
    log(f"{dark} flag changes with the addon disabled (only the catch-up can bring them), in {phase_b:.1f}s")
    set_addon(addon, True)
    log(f"addon enabled again; waiting {ADDON_CACHE_S:.0f}s for Unleash's addon cache")
    time.sleep(ADDON_CACHE_S)

    tail = flag_changes("after", 30)
    last_change = time.monotonic()
    log(f"{tail} more flag changes with the addon on again")

    expected = unleash_events_after(baseline)
    log(f"Unleash created {len(expected)} events after Hookline started (ids {min(expected)}..{max(expected)})")

    def all_arrived():
        with received_lock:
            ids = {e.get("id") for _, _, e in received if isinstance(e, dict)}
        return set(expected) <= ids

    try:
        wait("every Unleash event at the receiver", all_arrived, timeout=DEADLINE_S)
        complete_after = time.monotonic() - last_change
    except RuntimeError:
        complete_after = None
    # Two more polls and a moment for the webhook: a duplicate would show now.
    time.sleep(2 * float(POLL.rstrip("s")) + 2)

    with received_lock:
        got = list(received)
    counts = {}
    arrival = {}
    for mono, wall, event in got:
        if isinstance(event, dict) and "id" in event:
            counts[event["id"]] = counts.get(event["id"], 0) + 1
            arrival.setdefault(event["id"], wall)
    missing = sorted(set(expected) - set(counts))
    duplicates = sorted(i for i, n in counts.items() if n > 1)
    unexpected = sorted(set(counts) - set(expected))
    log_events = hookline_events(admin)
    by_poll = {i for i, caught in log_events.items() if caught and i in expected}
    by_webhook = {i for i, caught in log_events.items() if not caught and i in expected}
    addon_types = set(addon_events)
    addon_kind = {i for i, e in expected.items() if e["type"] in addon_types}
    dark_missed = sorted(dark_ids - by_poll)

    def latency(ids):
        out = []
        for i in ids:
            if i in arrival:
                created = datetime.fromisoformat(expected[i]["createdAt"].replace("Z", "+00:00")).timestamp()
                out.append((arrival[i] - created) * 1000)
        return out

    print()
    print("make e2e-unleash: real Unleash -> Hookline -> receiver")
    print(f"  unleash-server {os.environ.get('E2E_UNLEASH_VERSION', '?')}, "
          f"Hookline catch-up every {POLL}, {WORKERS} concurrent admin-API clients")
    print(f"  flag changes: {made} with the addon on ({phase_a:.1f}s), {dark} with it disabled ({phase_b:.1f}s), {tail} after")
    print(f"  Unleash events after Hookline started: {len(expected)} ({len(addon_kind)} of the addon's types, "
          f"{len(expected) - len(addon_kind)} others: strategy, addon and token events only the catch-up reads)")
    print(f"  in Hookline (whichever came first): {len(by_webhook)} by the addon, {len(by_poll)} by the catch-up poller; "
          f"the addon's later copies were de-duplicated")
    print(f"  with the addon disabled: {len(dark_ids)} events, {len(dark_ids) - len(dark_missed)} of them caught up by polling")
    print(f"  at the receiver: {len(counts)} distinct events, {sum(counts.values())} deliveries; "
          f"missing {len(missing)}, duplicated {len(duplicates)}, not from this run {len(unexpected)}")
    if complete_after is not None:
        print(f"  all events at the receiver {complete_after:.1f}s after the last change")
    print(f"  Unleash createdAt -> receiver, by the addon: {percentiles(latency(by_webhook))}")
    print(f"  Unleash createdAt -> receiver, caught up:    {percentiles(latency(by_poll))}")
    if missing:
        print(f"  MISSING ids: {missing[:50]}")
    if duplicates:
        print(f"  DUPLICATED ids: {duplicates[:50]}")
    if dark_missed:
        print(f"  NOT CAUGHT UP although the addon was off (came by the addon?): {dark_missed[:50]}")
    ok = not missing and not duplicates and not dark_missed
    print("  result: " + ("every Unleash event exactly once" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as error:  # a clear one-line reason, then the logs' location
        log(f"failed: {error}")
        sys.exit(1)
