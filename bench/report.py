"""Render bench/results.json as docs/benchmarks.md and docs/detection.svg.

Run `python -m bench.report` to render again from a saved results.json. The SVG is
written with the standard library only.
"""

import json
import pathlib
import sys
from xml.sax.saxutils import escape

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
PAGE = ROOT / "docs" / "benchmarks.md"
PLOT = ROOT / "docs" / "detection.svg"

OURS_COLOUR = "#1f6feb"
SEED_COLOUR = "#cf222e"


def number(value, digits=1):
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    return ("%." + str(digits) + "f") % value


def ms(value):
    return "n/a" if value is None else number(value) + " ms"


def times(value):
    return "n/a" if value is None else number(value, 3) + "x"


def verdict(met):
    if met is None:
        return "not measured"
    return "met" if met else "**missed**"


def get(results, group, key, default=None):
    return results.get(group, {}).get(key, default)


# -- the plot ----------------------------------------------------------------------------

def detection_svg(detection):
    """Draw each hang's submit-to-verdict time over its phase, for both heartbeats, as SVG."""
    width, height = 760, 440
    left, right, top, bottom = 70, 20, 50, 60
    ours = detection.get("samples", [])
    seeds = detection.get("seed_samples", [])
    bound = detection.get("bound_ms", 2000)
    target = detection.get("target_ms", bound + 25)
    ping = detection.get("settings", {}).get("pingInterval", 500)
    values = [s["detectedMs"] for s in ours + seeds] + [bound, target]
    low = min(min(values), bound - ping) - 50
    high = max(values) + 50
    low = 100 * (low // 100)
    high = 100 * (high // 100 + 1)

    def x(phase):
        return left + (width - left - right) * phase / ping

    def y(value):
        return top + (height - top - bottom) * (high - value) / (high - low)

    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
        'font-family="sans-serif" font-size="12">' % (width, height, width, height),
        '<rect width="100%" height="100%" fill="white"/>',
        '<text x="%d" y="22" font-size="14" font-weight="bold">Hang detection: submit to verdict, '
        '%d hangs each (pingInterval %d ms, pongTimeout %d ms)</text>' % (
            left, len(ours), ping, bound - ping),
    ]
    # Grid and axes.
    step = 100 if high - low <= 1200 else 200
    tick = low
    while tick <= high:
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>' % (left, y(tick), width - right, y(tick)))
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%d</text>' % (left - 6, y(tick) + 4, tick))
        tick += step
    for phase in range(0, ping + 1, 100):
        parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>' % (x(phase), top, x(phase), height - bottom))
        parts.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (x(phase), height - bottom + 16, phase))
    parts.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>' % (
        left, top, width - left - right, height - top - bottom))
    parts.append('<text x="%d" y="%d" text-anchor="middle">wait after a pong before submitting the hang (ms)</text>' % (
        (left + width - right) // 2, height - 18))
    parts.append('<text transform="translate(18 %d) rotate(-90)" text-anchor="middle">submit to verdict (ms)</text>' % (
        (top + height - bottom) // 2))

    # The bound, the target and the model: the next ping goes out pingInterval after the
    # pong's ping, and the verdict pongTimeout after that.
    parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#444" stroke-dasharray="6 4"/>' % (
        left, y(bound), width - right, y(bound)))
    parts.append('<text x="%d" y="%.1f" text-anchor="end" fill="#444">bound %d ms</text>' % (
        width - right - 4, y(bound) - 4, bound))
    parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#999" stroke-dasharray="2 3"/>' % (
        left, y(target), width - right, y(target)))
    parts.append('<text x="%d" y="%.1f" text-anchor="end" fill="#777">target %d ms</text>' % (
        width - right - 4, y(target) - 4 if y(target) < y(bound) - 14 else y(bound) - 18, target))
    parts.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#bbb"/>' % (x(0), y(bound), x(ping), y(bound - ping)))
    parts.append('<text x="%.1f" y="%.1f" fill="#888">bound - wait</text>' % (x(ping * 0.2), y(bound - ping * 0.2) + 30))

    for sample in seeds:
        cx, cy = x(sample["phaseMs"]), y(sample["detectedMs"])
        parts.append('<path d="M%.1f %.1fl8 8m0 -8l-8 8" stroke="%s" stroke-width="1.6"/>' % (cx - 4, cy - 4, SEED_COLOUR))
    for sample in ours:
        parts.append('<circle cx="%.1f" cy="%.1f" r="4" fill="none" stroke="%s" stroke-width="1.6"/>' % (
            x(sample["phaseMs"]), y(sample["detectedMs"]), OURS_COLOUR))

    # The legend goes in the lower left corner, which no point reaches: a hang submitted
    # right after a pong waits for the whole bound.
    legend_x = left + 12
    legend_y = height - bottom - 36
    parts.append('<circle cx="%d" cy="%d" r="4" fill="none" stroke="%s" stroke-width="1.6"/>' % (
        legend_x, legend_y, OURS_COLOUR))
    parts.append('<text x="%d" y="%d">this supervisor: p50 %s, max %s</text>' % (
        legend_x + 10, legend_y + 4, escape(ms(detection.get("hang_ms_p50"))), escape(ms(detection.get("hang_ms_max")))))
    parts.append('<path d="M%d %dl8 8m0 -8l-8 8" stroke="%s" stroke-width="1.6"/>' % (
        legend_x - 4, legend_y + 16, SEED_COLOUR))
    parts.append('<text x="%d" y="%d">the pattern\'s snippet: p50 %s, max %s</text>' % (
        legend_x + 10, legend_y + 24, escape(ms(detection.get("seed_hang_ms_p50"))),
        escape(ms(detection.get("seed_hang_ms_max")))))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# -- the page ----------------------------------------------------------------------------

def table_rows(results):
    """Rows of (figure, value, baseline, ratio, target and whether it is met)."""
    d = results.get("detection", {})
    r = results.get("recovery", {})
    o = results.get("overhead", {})
    s = results.get("size", {})
    p = results.get("pool", {})
    f = results.get("false_verdicts", {})
    b = results.get("beacon", {})
    rates = o.get("tasks_per_s", {})
    signal_bound = None
    if "signal_settings" in d:
        signal_bound = d["signal_settings"]["pingInterval"] + d["signal_settings"]["pongTimeout"]
    rows = [
        ("detection.hang_ms_p50", ms(d.get("hang_ms_p50")), "pattern " + ms(d.get("seed_hang_ms_p50")),
         times(_ratio(d.get("hang_ms_p50"), d.get("seed_hang_ms_p50"))), ""),
        ("detection.hang_ms_max", ms(d.get("hang_ms_max")), "pattern " + ms(d.get("seed_hang_ms_max")),
         times(d.get("max_ratio_to_seed")), "at most %s: %s" % (ms(d.get("target_ms")), verdict(d.get("met")))),
        ("detection.bound_ms", ms(d.get("bound_ms")), "", times(d.get("max_ratio_to_bound")) + " (max / bound)", ""),
        ("detection.seed_hang_ms_max", ms(d.get("seed_hang_ms_max")), "", "", ""),
        ("detection.signal_ms_max", ms(d.get("signal_ms_max")),
         "heartbeat bound %s; pattern: %s" % (ms(signal_bound), "judged in " + ms(d.get("seed_signal_verdict_ms"))
                                             if d.get("seed_signal_verdict_ms") is not None else "no verdict"),
         times(d.get("signal_ratio_to_heartbeat_bound")),
         "at most %s: %s" % (ms(d.get("signal_target_ms")), verdict(d.get("signal_met")))),
    ]

    rows += [
        ("recovery.cold_ms_p50", ms(r.get("cold_ms_p50")), "", "", ""),
        ("recovery.spare_ms_p50", ms(r.get("spare_ms_p50")), "cold " + ms(r.get("cold_ms_p50")),
         times(_ratio(r.get("spare_ms_p50"), r.get("cold_ms_p50"))), ""),
        ("recovery.interrupt_ms_p50", ms(r.get("interrupt_ms_p50")), "cold " + ms(r.get("cold_ms_p50")),
         times(_ratio(r.get("interrupt_ms_p50"), r.get("cold_ms_p50"))), ""),
        ("recovery.spare_speedup", times(r.get("spare_speedup")), "cold restart", "",
         "at least 20x: " + verdict(_at_least(r.get("spare_speedup"), 20))),
        ("recovery.interrupt_speedup", times(r.get("interrupt_speedup")), "cold restart", "",
         "at least 20x: " + verdict(_at_least(r.get("interrupt_speedup"), 20))),
    ]

    rows += [
        ("overhead.throughput_ratio_2000ms", number(rates.get("2000ms"), 0) + " tasks/s",
         "heartbeat off " + number(rates.get("off"), 0) + " tasks/s", times(o.get("throughput_ratio_2000ms")),
         "at least 0.99: " + verdict(o.get("met_2000ms"))),
        ("overhead.throughput_ratio_50ms", number(rates.get("50ms"), 0) + " tasks/s",
         "heartbeat off " + number(rates.get("off"), 0) + " tasks/s", times(o.get("throughput_ratio_50ms")),
         "at least 0.95: " + verdict(o.get("met_50ms"))),
        ("overhead.throughput_noise_floor", times(o.get("throughput_noise_floor")), "the second heartbeat-off supervisor", "", ""),
        ("overhead.protocol_ratio_2000ms", times(o.get("protocol_ratio_2000ms")), "one raw worker, no pings",
         "noise floor " + times(o.get("protocol_noise_floor")), ""),
        ("overhead.protocol_ratio_50ms", times(o.get("protocol_ratio_50ms")), "one raw worker, no pings",
         "noise floor " + times(o.get("protocol_noise_floor")), ""),
        ("overhead.pong_rtt_ms_p50", number(o.get("pong_rtt_ms_p50"), 3) + " ms",
         "echo " + number(o.get("echo_rtt_ms_p50"), 3) + " ms", times(o.get("pong_to_echo_ratio")), ""),
        ("overhead.echo_rtt_ms_p50", number(o.get("echo_rtt_ms_p50"), 3) + " ms", "", "", ""),
    ]

    rows += [
        ("size.manager_min_gz_bytes", number(s.get("manager_min_gz_bytes")) + " B",
         "comlink %s B, workerpool %s B" % (number(s.get("comlink_min_gz_bytes")), number(s.get("workerpool_min_gz_bytes"))),
         "%s, %s" % (times(s.get("ratio_to_comlink")), times(s.get("ratio_to_workerpool"))),
         "at most 8192 B: " + verdict(s.get("met"))),
        ("size.comlink_min_gz_bytes", number(s.get("comlink_min_gz_bytes")) + " B", "", "", ""),
        ("size.workerpool_min_gz_bytes", number(s.get("workerpool_min_gz_bytes")) + " B", "", "", ""),
        ("pool.speedup_2_members", times(p.get("speedup_2_members")),
         "one Supervisor %s, Pool of 2 %s" % (ms(p.get("supervisor_ms")), ms(p.get("pool_ms"))), "", ""),
        ("false_verdicts.stall_6s", number(f.get("stall_6s")), "pattern " + number(f.get("seed_stall_6s")), "",
         "0 where the pattern has one: " + verdict(_false_verdicts_met(f))),
        ("false_verdicts.seed_stall_6s", number(f.get("seed_stall_6s")), "", "", ""),
        ("beacon.overhead_ratio", times(b.get("overhead_ratio")),
         "progress off %s, on %s (p50)" % (ms(b.get("off_ms_p50")), ms(b.get("on_ms_p50"))), "", ""),
        ("beacon.stuck_ms_max", ms(b.get("stuck_ms_max")), "task deadline " + ms(b.get("task_deadline_ms")),
         times(b.get("stuck_ratio_to_deadline")), ""),
    ]
    return rows


def _ratio(value, baseline):
    if value is None or not baseline:
        return None
    return value / baseline


def _at_least(value, target):
    return None if value is None else value >= target


def _false_verdicts_met(figures):
    if "stall_6s" not in figures:
        return None
    return figures["stall_6s"] == 0 and figures["seed_stall_6s"] > 0


MEANINGS = [
    ("detection.hang_ms_p50, _max", "page time from submitting `while True: pass` to the core's verdict "
     "(the failure event's verdictAt), over hangs submitted at random waits of 0 to pingInterval after a pong."),
    ("detection.bound_ms", "pingInterval + pongTimeout, the longest a hang may go unjudged."),
    ("detection.seed_hang_ms_max", "the same for the pattern's snippet: submit to its worker.terminate()."),
    ("detection.signal_ms_max", "the worst submit-to-failure time of `os._exit(1)` and `faulthandler._sigsegv()`, "
     "which Pyodide reports, under a 10 s pongTimeout that cannot be what caught them."),
    ("recovery.*_ms_p50", "median time from the verdict on a hang to the result of a task queued right behind it."),
    ("recovery.*_speedup", "cold-restart median over the hot-spare or soft-interrupt median."),
    ("overhead.throughput_ratio_*", "tasks per second of `1 + 1` with the heartbeat at that interval, over the "
     "same with the heartbeat off, from the lower quartile of batch times in rotating batches."),
    ("overhead.protocol_ratio_*", "the same ratio on one raw worker that a page timer pings, taking turns "
     "with no pings, so that no difference between workers enters it."),
    ("overhead.pong_rtt_ms_p50", "median ping-to-pong time on a raw worker; the pong comes from the Python responder."),
    ("overhead.echo_rtt_ms_p50", "median echo round trip on the same worker, answered by its JavaScript."),
    ("size.*_min_gz_bytes", "bytes of the esbuild bundle, minified and gzipped at level 9."),
    ("pool.speedup_2_members", "time for 8 CPU-bound tasks on one Supervisor over the time on a Pool of 2."),
    ("false_verdicts.*stall_6s", "verdicts on a healthy worker after a 6 s synchronous stall of the page, "
     "summed over the stalls."),
    ("beacon.overhead_ratio", "median run time of a tight loop with progress on over the same with it off, "
     "in alternating pairs."),
    ("beacon.stuck_ms_max", "worst submit-to-failure time of a task blocked in Atomics.wait with a 60 s deadline."),
]


def missed_reasons(results):
    """Explain each missed target in one paragraph, built from the measured figures."""
    reasons = []
    d = results.get("detection", {})
    machine = results.get("machine", {})
    load = machine.get("load_average_at_start", [None])[0]
    loaded = load is not None and load > machine.get("nproc", 2)

    if d.get("met") is False:
        worst = max(d["samples"], key=lambda sample: sample["detectedMs"])
        ping = d["settings"]["pingInterval"]
        due = d["bound_ms"] - worst["phaseMs"] % ping
        reasons.append(
            "**Detection.** The worst verdict came %s after submitting, %s past the bound. That hang was "
            "submitted %s after a pong, so its verdict was due about %s after submitting, and it came %s "
            "later than that. The core judges at the first timer tick after a pong deadline, and a tick "
            "that runs more than lateTolerance late discards its round, so the lateness of the page's timers "
            "adds to the verdict. The pattern's worst in the same run was %s.%s" % (
                ms(d.get("hang_ms_max")), ms(d["hang_ms_max"] - d["bound_ms"]), ms(worst["phaseMs"]), ms(due),
                ms(worst["detectedMs"] - due), ms(d.get("seed_hang_ms_max")),
                " The machine was loaded (load average %.1f on %d cores at the start)." % (load, machine["nproc"])
                if loaded else ""))

    if d.get("signal_met") is False:
        reasons.append("**Signalled faults.** The worst took %s from submit to failure; the verdict waits for "
                       "the worker's message, which a loaded machine delays." % ms(d.get("signal_ms_max")))

    r = results.get("recovery", {})
    for kind in ("spare", "interrupt"):
        if _at_least(r.get(kind + "_speedup"), 20) is False:
            reasons.append("**Recovery by %s.** %s against a cold restart of %s.%s" % (
                kind, ms(r.get(kind + "_ms_p50")), ms(r.get("cold_ms_p50")),
                " %d of %d interrupts were lost and fell back to a restart." % (
                    r["interrupt_not_taken"], r["interrupt_rounds"]) if kind == "interrupt" and r.get("interrupt_not_taken") else ""))

    o = results.get("overhead", {})
    for label, key in (("2000 ms", "met_2000ms"), ("50 ms", "met_50ms")):
        if o.get(key) is False:
            suffix = label.replace(" ", "")
            reasons.append(
                "**Throughput at %s.** The ratio was %s, while the two heartbeat-off supervisors, measured the "
                "same way, differed by %s: two workers with the same settings run a few percent apart, and this "
                "difference is larger than the target's margin. On one raw worker, where that difference cannot "
                "enter, pings at this interval gave %s against a noise floor of %s.%s" % (
                    label, times(o.get("throughput_ratio_" + suffix)), times(o.get("throughput_noise_floor")),
                    times(o.get("protocol_ratio_" + suffix)), times(o.get("protocol_noise_floor")),
                    " The machine was loaded (load average %.1f)." % load if loaded else ""))

    s = results.get("size", {})
    if s.get("met") is False:
        reasons.append(
            "**Size.** The leanest bundle is %s B minified and gzipped. Without Transcrypt's runtime, the "
            "transpiled core, options, policies and adapter alone come to %s B, so no bundler setting can "
            "reach 8192 B: the target needs less generated code (a smaller core or adapter), not a better "
            "bundle. The runtime adds the remaining %s B." % (
                number(s.get("manager_min_gz_bytes")), number(s.get("manager_without_runtime_min_gz_bytes")),
                number(s["manager_min_gz_bytes"] - s["manager_without_runtime_min_gz_bytes"])
                if s.get("manager_without_runtime_min_gz_bytes") else "n/a"))

    f = results.get("false_verdicts", {})
    if _false_verdicts_met(f) is False:
        reasons.append("**False verdicts.** The supervisor gave %s verdicts and the pattern %s over %s stalls." % (
            number(f.get("stall_6s")), number(f.get("seed_stall_6s")), number(f.get("stalls"))))
    return reasons


def size_section(s):
    lines = ["| variant | what it adds | min | min+gz | at most 8192 B | works in the page |",
             "|---|---|---:|---:|---|---|"]
    for variant in s.get("variants", []):
        works = "yes (%s)" % variant["check"] if variant["works"] else "no: " + str(variant["problem"])
        lines.append("| `%s` | %s | %d | %d | %s | %s |" % (
            variant["name"], variant["description"], variant["min_bytes"], variant["min_gz_bytes"],
            "yes" if variant["meets_target"] else "no", works))
    return lines


def render_page(results):
    machine = results.get("machine", {})
    d = results.get("detection", {})
    r = results.get("recovery", {})
    o = results.get("overhead", {})
    s = results.get("size", {})
    p = results.get("pool", {})
    f = results.get("false_verdicts", {})
    b = results.get("beacon", {})
    load_start = machine.get("load_average_at_start", [0, 0, 0])
    load_end = machine.get("load_average_at_end", [0, 0, 0])
    lines = [
        "# Benchmarks",
        "",
        "Every figure is measured beside its baseline in the same run, in headless Chromium against real "
        "Pyodide served from 127.0.0.1, and the ratio between them is given too. The raw numbers and samples "
        "are in [bench/results.json](../bench/results.json).",
        "",
        "Reproduce with `make bench`: it installs what is missing, builds, and runs `python -m bench.run`, "
        "which took %s s in this run. `python -m bench.report` renders this page again from "
        "results.json." % number(results.get("seconds"), 0),
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        "| date | %s |" % results.get("date", "n/a"),
        "| nproc | %s |" % machine.get("nproc", "n/a"),
        "| CPU | %s |" % machine.get("cpu_model", "n/a"),
        "| memory | %s GiB |" % machine.get("memory_gib", "n/a"),
        "| Chromium | %s (headless) |" % machine.get("chromium", "n/a"),
        "| Pyodide | %s |" % machine.get("pyodide", "n/a"),
        "| esbuild | %s |" % s.get("esbuild", "n/a"),
        "| load average (1 min) | %.2f at the start, %.2f at the end |" % (load_start[0], load_end[0]),
        "| other Chromium processes at the start | %s |" % machine.get("other_chromium_processes_at_start", "n/a"),
        "",
    ]
    busy = load_start[0] > machine.get("nproc", 2) or machine.get("other_chromium_processes_at_start", 0) > 0
    if busy:
        lines += [
            "NOTE: other sessions were running browser tests on this machine during the run, so timer lateness, "
            "worker start-up, throughput and the pool's speedup carry their load. Cold restarts, the pool and "
            "throughput suffer most; the verdict times and the ratios measured in alternating rounds less.",
            "",
        ]
    lines += [
        "## Results",
        "",
        "| figure | value | baseline | ratio | target |",
        "|---|---:|---|---:|---|",
    ]
    for row in table_rows(results):
        lines.append("| `%s` | %s | %s | %s | %s |" % row)
    lines += ["", "What each figure measures:", ""]
    for key, meaning in MEANINGS:
        lines.append("- `%s`: %s" % (key, meaning))

    lines += ["", "## Targets missed", ""]
    reasons = missed_reasons(results)
    lines += [reason + "\n" for reason in reasons] if reasons else ["None.", ""]
    if len(results.get("errors", {})) > 0:
        lines += ["## Sections that failed", ""]
        for section, error in results["errors"].items():
            lines.append("- %s: %s" % (section, error))
        lines.append("")

    lines += [
        "## Detection",
        "",
        "![Submit-to-verdict time over the wait after a pong, for this supervisor and the pattern's "
        "snippet](detection.svg)",
        "",
        "[docs/detection.svg](detection.svg) plots each hang's submit-to-verdict time over how long after a "
        "pong it was submitted. A hang submitted just after a pong is judged one interval and one timeout "
        "after the ping that pong answered; one submitted later is judged sooner, so the points fall along "
        "the line `bound - wait`. Both heartbeats ran in one tab, in pairs of rounds, with pingInterval %s ms "
        "and pongTimeout %s ms. The supervisor ran with hotSpare on and interrupt off, on a page without "
        "cross-origin isolation. No worker loaded while a round ran, and the second round of a pair waited "
        "2 s for the worker terminated in the first to stop." % (
            d.get("settings", {}).get("pingInterval", "n/a"), d.get("settings", {}).get("pongTimeout", "n/a")),
        "",
        "The pattern's snippet is bench/pages/seed.mjs, written from the pattern's description with two "
        "changes. Its clock starts when the worker reports that Pyodide loaded, because the published "
        "snippet condemns any worker whose load takes longer than pongTimeout. Its worker runs "
        "`{type: \"RUN\", code}` with `exec` in the same Python message handler that replies to pings. "
        "The snippet counts pongTimeout from the last pong, not from each ping, so a tick that runs later "
        "than a pong's round trip condemns the worker one interval early: the crosses below the line. After "
        "`os._exit(1)` its handler %s replying to pings, and the snippet %s within %s." % (
            "kept" if d.get("seed_signal_pongs_after_fault") else "stopped",
            "gave no verdict" if d.get("seed_signal_verdict_ms") is None else "gave a verdict",
            ms(d.get("seed_signal_watch_ms"))),
        "",
        "The signalled faults ran on an isolated page with pingInterval 2000 ms, pongTimeout 10000 ms and "
        "hotSpare on. Each fault waited until the spare had loaded, so that no load ran beside it.",
        "",
        "## Recovery",
        "",
        "Cold restarts ran on a page without cross-origin isolation, hot-spare takeovers with the spare "
        "loaded before each hang, soft interrupts on an isolated page. Every restart started at once "
        "(restartWindow 1 ms), so no restart waited for the backoff that a crash loop would get. "
        "%s Pyodide %s reads its interrupt buffer and then writes 0 to it in two steps, so a SIGINT written "
        "between the two is dropped. The supervisor then restarts the worker once interruptGrace has passed. "
        "The interrupt median over the rounds where it took is %s." % (
            "No interrupt of %s was lost in this run, but one can be:" % number(r.get("interrupt_rounds"))
            if r.get("interrupt_not_taken") == 0 else
            "%s of %s interrupts were lost:" % (number(r.get("interrupt_not_taken")), number(r.get("interrupt_rounds"))),
            machine.get("pyodide", ""), ms(r.get("interrupt_ms_p50_when_taken"))),
        "",
        "## Overhead",
        "",
        "Six supervisors in one tab, two per setting (heartbeat off, 2000 ms, 50 ms), ran %s tasks of "
        "`1 + 1` per setting in batches of %s, in %s rounds that rotate the order. Other processes stretch "
        "some batches several times over, so each setting's throughput is taken from the lower quartile of "
        "its batch times, which keeps the batches that ran undisturbed. Such a batch lasts %s, so the "
        "50 ms heartbeat's pings fall inside every one. The two heartbeat-off supervisors, compared the same way, "
        "give the noise floor (`overhead.throughput_noise_floor`, %s in this run). The median over rounds "
        "of the ratio within each round is a second estimate: %s at 2000 ms and %s at 50 ms, noise floor "
        "%s. Because two workers differ by a few percent, the same comparison ran on one raw worker too. "
        "There a page timer posts pings at each interval while tasks run one at a time, and the intervals "
        "take turns on that worker (%s tasks each, compared by the same lower quartile). It gave %s at 2000 ms and %s at 50 ms, with a noise floor of "
        "%s between two turns without pings. The idle supervisors keep pinging while another one runs its batch, which costs every setting "
        "the same. The round trips were timed on one raw worker started with the supervisor's init "
        "message, ping and echo alternating. The supervisor's own `stats().lastRttMs` had a median of %s at "
        "a 50 ms interval, because it also counts the page's handling of the message." % (
            number(o.get("tasks_per_setting")), number(o.get("batch")), number(o.get("rounds")),
            ms(o["batch"] * 1000 / o["tasks_per_s"]["off"]) if "tasks_per_s" in o else "n/a",
            times(o.get("throughput_noise_floor")), times(o.get("paired_ratio_2000ms")),
            times(o.get("paired_ratio_50ms")), times(o.get("paired_noise_floor")),
            number(o.get("protocol_tasks_per_setting")), times(o.get("protocol_ratio_2000ms")),
            times(o.get("protocol_ratio_50ms")), times(o.get("protocol_noise_floor")),
            ms(o.get("supervisor_rtt_ms_p50"))),
        "",
        "## Size and the lean bundle",
        "",
        "Each variant is a bundle of build/manager.js made with esbuild from node_modules and gzipped by "
        "Python at level 9. The two flag variants change only the command; each `+` step adds to the ones "
        "above it. comlink and workerpool are their shipped "
        "minified builds (`%s`, `%s`) run through the same command; workerpool's Node.js built-ins are left "
        "external." % (s.get("references", {}).get("comlink", {}).get("entry", "n/a"),
                       s.get("references", {}).get("workerpool", {}).get("entry", "n/a")),
        "",
    ]
    lines += size_section(s)
    lines += [
        "",
        "`python -m bench.bundle` writes the leanest variant to build/manager.min.js. Its steps are "
        "explained in bench/bundle.py. In short, `--pure:__class__` and `--tree-shaking=true` change nothing, "
        "because esbuild applies `--pure` to global names only and tree shaking is already on when bundling. "
        "What makes the bundle lean is a `/* @__PURE__ */` comment before each top-level class definition, "
        "importing Transcrypt's modules as namespaces instead of `__nest__` copies, dropping the runtime's "
        "unused str and list methods, and renaming private snake_case properties. The full check loads the "
        "bundle in the page and runs ready, `1 + 1`, a Python exception and a hang recovered by the soft "
        "interrupt; the happy path is ready, `1 + 1` and a pong.",
        "",
        "## False verdicts",
        "",
        "The stall reuses the tests' page tests/pages/seed.html, where the pattern's heartbeat "
        "(tests/pages/seed.mjs) runs beside the supervisor with the same settings (pingInterval %s ms, "
        "pongTimeout %s ms). Each stall starts 100 ms after a pong of the pattern and busy-loops the main "
        "thread; every stall was checked to have lasted at least 6000 ms (%s). Verdicts were counted until "
        "pongTimeout plus one interval plus 1 s after the stall. The supervisor discards a round that its "
        "late timer cannot judge, and gave %s verdicts. The pattern compares Date.now() with its last pong "
        "at its first tick after the stall, and terminated its healthy worker after %s of %s stalls." % (
            f.get("settings", {}).get("pingInterval", "n/a"), f.get("settings", {}).get("pongTimeout", "n/a"),
            ", ".join(ms(length) for length in f.get("stall_ms", [])), number(f.get("stall_6s")),
            number(f.get("seed_stall_6s")), number(f.get("stalls"))),
        "",
        "## Progress beacon",
        "",
        "`beacon.overhead_ratio` is the median of %s alternating pairs of `sum(i * i for i in range(%s))` "
        "(about 0.5 s), timed inside Python, on two supervisors of one isolated page, one with progress on "
        "and one with it off. With progress on, the worker hands Pyodide an object whose getter counts each "
        "read of the interrupt buffer, in place of the buffer itself. `beacon.stuck_ms_max` is the worst of "
        "%s tasks blocked in `Atomics.wait` with a %s deadline and stuckTimeout %s: the verdict comes "
        "from the counter standing still, long before the deadline (p50 %s)." % (
            number(b.get("pairs")), number(b.get("task_n")), number(len(b.get("stuck_samples", [])) or None),
            ms(b.get("task_deadline_ms")), ms(b.get("stuck_timeout_ms")), ms(b.get("stuck_ms_p50"))),
        "",
        "## Pool",
        "",
        "%s tasks of `sum(i * i for i in range(%s))` (about 0.5 s each on one worker) went through one "
        "Supervisor and through a Pool of size 2 in the same tab, alternating, %s times each. The speedup "
        "cannot exceed the number of free cores.%s" % (
            number(p.get("tasks")), number(p.get("task_n")), number(p.get("repeats")),
            " Other sessions' browsers were using some of the two during this run." if busy else ""),
        "",
    ]
    return "\n".join(lines)


def render(results):
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(render_page(results))
    if "samples" in results.get("detection", {}):
        PLOT.write_text(detection_svg(results["detection"]))


def main():
    render(json.loads(RESULTS.read_text()))
    print("wrote " + str(PAGE.relative_to(ROOT)) + " and " + str(PLOT.relative_to(ROOT)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
