"""`aiaudit status` for people: the balance first, then one block per proxy, errors with times."""

from __future__ import annotations

HEALTH = {
    "running": "running",
    "stale": "STALE: no heartbeat for {age} (down, or cut off from the store)",
    "cut_off": "CUT OFF: running on this host, but its heartbeats have not reached the store for {age}",
    "stopped": "stopped at {stopped}",
    "unknown": "has never sent a heartbeat",
}


def _age(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "an unknown time"
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _balance(r: dict) -> str:
    return (f"captured {r['captured']} = stored {r['stored']} + pending {r['pending']} "
            f"+ dropped {sum(r['dropped'].values())}")


def _proxy(p: dict) -> list[str]:
    name = p["host"] or "?"
    if p["id"]:
        name += " (counted before proxy identities)" if p["legacy"] else f" [{p['id']}]"
    if p["this_host"]:
        name += ", this host"
    health = HEALTH[p["health"]].format(age=_age(p["heartbeat_age_s"]), stopped=p["stopped_at"])
    if p["health"] == "running":
        health += f", last heartbeat {_age(p['heartbeat_age_s'])} ago"
    if p["writer_restarts"]:
        health += f"; its writer process was restarted {_times(p['writer_restarts'])}"
    lines = [f"proxy {name}: {health}", f"  {_balance(p)}"]
    for reason, n in sorted(p["dropped"].items()):
        lines.append(f"    dropped:{reason} {n}")
    as_of = "now, from its journal" if p["pending_from"] == "journal" else f"as of {p['seen_at']}"
    if p["pending_from"] != "unknown":
        lag = p["lag_s"]
        lag_text = "" if lag is None or not p["pending"] else f", oldest waiting {_age(lag)}"
        partial = "" if (p["backlog"] or {}).get("complete", True) or p["pending_from"] == "journal" else "at least "
        lines.append(f"  backlog {partial}{p['pending']} calls, {p['pending_bytes']} bytes ({as_of}){lag_text}")
    e = p["current_error"]
    if e:
        lines.append(f"  store error NOW: {e['message']} (since {e['since']}, last seen {e['seen_at']}, "
                     f"{_times(e['count'])})")
    e = p["previous_error"]
    if e:
        lines.append(f"  last store error (cleared {e['cleared_at']}): {e['message']} (since {e['since']}, "
                     f"{_times(e['count'])})")
    return lines


def render(r: dict) -> str:
    lines = [_balance(r)]
    for reason, n in sorted(r["dropped"].items()):
        lines.append(f"  dropped:{reason} {n}")
    j = r["journal"]
    if j.get("other_store"):
        lines.append(f"journal {j['dir']}: {j['records']} records, {j['bytes']} bytes for another store "
                     f"({j['other_store']}); not counted here"
                     + (f"; the writer refused to drain it into this store {j['refused']} times" if j.get("refused") else ""))
    elif j["error"]:
        lines.append(f"journal {j['dir']}: cannot read it ({j['error']}); this host's pending calls are not counted")
    else:
        lines.append(f"journal {j['dir']}: {j['records']} records, {j['bytes']} bytes pending")
    if r.get("store_error"):
        lines.append(f"store: {r['store_error']}")
    for p in r["proxies"]:
        lines.extend(_proxy(p))
    for w in r["watchers"]:
        lines.append(f"watcher {w['host']}: last seen {w['updated_at']}, {w.get('summary', '')}")
    if not r["proxies"] and not r["watchers"]:
        lines.append("no proxy or watcher has reported yet")
    return "\n".join(lines)
