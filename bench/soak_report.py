#!/usr/bin/env python3
"""The soak's report (bench/soak.sh): reads pg-soak's JSON lines.

  soak_report.py live                  stdin -> a table row per report line, totals at the end
  soak_report.py verdict FILE k=v ...  the checks on FILE's lines; exit 1 when one fails

Outcome labels: HTTP statuses ("200", "503"), gRPC codes ("grpc:OK"), "vanished" (the client
went away by design), "shed" (not sent: the class was at its in-flight bound), "closed" (the
connection ended without an answer), "bad" (an answer that does not fit), "unanswered" (the
client's deadline passed without an answer).
"""
import json
import sys

FAILING = ("unanswered", "closed", "bad")


def classify(counts):
    """Sums a {class: {outcome: n}} map into columns."""
    col = {"calls": 0, "2xx": 0, "4xx": {}, "5xx": {}, "grpc": {}, "vanished": 0, "shed": 0,
           "closed/bad": 0, "unanswered": 0}
    for cls, outcomes in counts.items():
        if cls == "keepalive":
            continue  # stale keep-alive connections retried: not calls
        for out, n in outcomes.items():
            col["calls"] += n
            if out.startswith("grpc:"):
                col["grpc"][out[5:]] = col["grpc"].get(out[5:], 0) + n
            elif out.isdigit() and out[0] == "2":
                col["2xx"] += n
            elif out.isdigit() and out[0] in "45":
                d = col[out[0] + "xx"]
                d[out] = d.get(out, 0) + n
            elif out in ("closed", "bad"):
                col["closed/bad"] += n
            elif out in col:
                col[out] += n
            else:
                col["closed/bad"] += n
    return col


def codes(d):
    return " ".join(f"{k}:{v}" for k, v in sorted(d.items())) or "-"


HEAD = ("| min | gateway RSS MiB | fds | in flight | calls | 2xx | 4xx | 5xx | gRPC | vanished | shed "
        "| closed/bad | unanswered |")


def row(j):
    c = classify(j["counts"])
    rss = j["rss_kib"] / 1024 if j["rss_kib"] >= 0 else -1
    return (f"| {j['report'] / 60:.1f} | {rss:.1f} | {j['fds']} | {j['in_flight']} | {c['calls']} | {c['2xx']} "
            f"| {codes(c['4xx'])} | {codes(c['5xx'])} | {codes(c['grpc'])} | {c['vanished']} | {c['shed']} "
            f"| {c['closed/bad']} | {c['unanswered']} |")


def totals(j):
    print()
    print(f"Totals by class (after {j['final']:.0f} s; calls still in flight at the end: {j['left_in_flight']}; "
          f"pg-soak used {j.get('cpu_s', 0):.1f} s of CPU):")
    print()
    print("| class | outcomes |")
    print("| --- | --- |")
    for cls, outcomes in j["counts"].items():
        print(f"| {cls} | {codes(outcomes)} |")


def live():
    print(HEAD)
    print("| --- " * 13 + "|")
    for line in sys.stdin:
        line = line.strip()
        if not line.startswith("{"):
            continue
        j = json.loads(line)
        if "report" in j:
            print(row(j), flush=True)
        elif "final" in j:
            totals(j)


def slope(points):
    """Least-squares slope of (t, v) points, per unit of t."""
    n = len(points)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    den = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (v - mv) for t, v in points) / den if den else 0.0


def verdict(path, args):
    a = {k: v for k, v in (s.split("=", 1) for s in args)}
    warmup = float(a["warmup_s"])
    rss_slope_max = float(a["rss_slope_max_kib_min"])
    rss_growth_max = float(a["rss_growth_max_kib"])
    fd_slack = int(a["fd_slack"])
    lines = [json.loads(s) for s in open(path) if s.startswith("{")]
    samples = [(j.get("sample", j.get("report")), j["rss_kib"], j["fds"]) for j in lines
               if "sample" in j or "report" in j]
    final = next((j for j in lines if "final" in j), None)
    failed = []

    def check(ok, text):
        print(("  ok    " if ok else "  FAIL  ") + text)
        if not ok:
            failed.append(text)

    print()
    print("Verdict:")
    if final is None:
        check(False, "pg-soak ended without its final line")
        return 1
    tot = classify(final["counts"])
    per_fail = {o: sum(c.get(o, 0) for c in final["counts"].values()) for o in FAILING}
    check(per_fail["unanswered"] == 0, f"unanswered calls (client deadline passed, no answer): {per_fail['unanswered']}")
    check(per_fail["closed"] == 0, f"connections ended without an answer: {per_fail['closed']}")
    check(per_fail["bad"] == 0, f"answers that do not fit the call: {per_fail['bad']}")
    check(all(r >= 0 for _, r, _ in samples) and a.get("alive") == "1", "the gateway ran to the end (no crash)")
    if tot["shed"]:
        print(f"  note  {tot['shed']} calls not sent because their class had 20 s of calls in flight")
    after = [(t / 60, r) for t, r, _ in samples if t >= warmup and r >= 0]
    if len(after) >= 2:
        first, last = after[0][1], after[-1][1]
        s = slope(after)
        check(s <= rss_slope_max and last - first <= rss_growth_max,
              f"RSS after warm-up ({warmup:.0f} s): first {first / 1024:.1f} MiB, last {last / 1024:.1f} MiB, "
              f"growth {(last - first) / 1024:+.1f} MiB (max {rss_growth_max / 1024:.0f}), "
              f"slope {s:+.0f} KiB/min (max {rss_slope_max:.0f})")
    else:
        check(False, "too few RSS samples after the warm-up")
    fd_samples = [f for t, _, f in samples if t >= warmup and f >= 0]
    if fd_samples:
        print(f"  info  fds under load after warm-up: min {min(fd_samples)}, max {max(fd_samples)} "
              f"(the soak's own connections in flight)")
    base, end = int(a["fds_before"]), int(a["fds_after"])
    check(end <= base + fd_slack, f"fds idle before the load {base}, idle after it {end} (slack {fd_slack})")
    check(a.get("jobs_after") == "0", f"jobs queued or running once the load ended: {a.get('jobs_after')}")
    check(a.get("conversations_after") == "0",
          f"conversations open after their idle timeout: {a.get('conversations_after')}")
    check(a.get("stopped") == "0", f"SIGTERM after the load: exit status {a.get('stopped')} (0 = clean, no sanitizer report)")
    print("RESULT: " + ("PASS" if not failed else f"FAIL ({len(failed)} check(s))"))
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["live"]:
        live()
    elif sys.argv[1:2] == ["verdict"]:
        sys.exit(verdict(sys.argv[2], sys.argv[3:]))
    else:
        sys.exit(__doc__)
