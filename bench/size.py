"""Size benchmark: the manager bundled and minified with each lean step, beside comlink and
workerpool bundled the same way, and a check in the browser that each bundle still works."""

from bench import bundle
from bench.page import BenchPage
from bench.summary import ratio

SMOKE_OPTIONS = {"pingInterval": 500, "pongTimeout": 1500, "lateTolerance": 500}


def smoke_test(browser, origin, module_name, full):
    """Load the bundle in the benchmark page and run the heartbeat's happy path.

    full also checks a Python exception and a hang recovered by the soft interrupt.
    Returns None when the bundle works, or what failed.
    """
    try:
        page = BenchPage(browser, origin, manager="../../build/" + module_name)
    except Exception as error:  # noqa: BLE001 - a bundle that does not load is a finding
        return "the page did not load the bundle: " + str(error)
    try:
        page.make("smoke", SMOKE_OPTIONS)
        page.call("waitReady", "smoke")
        if page.call("value", "smoke", "1 + 1", None) != 2:
            return "1 + 1 did not return 2"
        page.call("waitPong", "smoke")
        if not full:
            return None
        failed = page.evaluate("() => bench.outcome(bench.submit('smoke', '1 / 0'), 10000)")
        if failed["status"] != "rejected" or failed["pythonType"] != "ZeroDivisionError":
            return "1 / 0 did not reject with ZeroDivisionError: " + str(failed)
        # Pyodide can lose a SIGINT (see faults.recovery), so a second hang gets a second chance.
        for _ in range(2):
            page.call("value", "smoke", "x = 41", None)
            recovered = page.call("recoveryRound", "smoke", "while True:\n    pass", "x + 1")
            if recovered["recovered"] == "interrupt":
                break
        if recovered["recovered"] != "interrupt" or recovered["value"] != 42:
            return "the hang was not recovered by the interrupt with x kept: " + str(recovered)
        stats = page.call("stats", "smoke")
        if stats["pongsReceived"] < 2:
            return "no pongs after the interrupt: " + str(stats)
        return None
    except Exception as error:  # noqa: BLE001 - reported beside the size, not raised
        return str(error).split("\n")[0]
    finally:
        page.close()


def sizes(browser, origin, log):
    references = bundle.measure_references()
    for name, size in references.items():
        log("size: %s %d bytes min+gz (%s)" % (name, size["min_gz_bytes"], size["entry"]))
    variants = []
    checked = {}    # bundle bytes -> what its check found, so identical bundles load once
    try:
        for name, description, path, summary in bundle.measure_variants(bundle.BUILD):
            full = name == bundle.LEAN_VARIANT
            data = path.read_bytes()
            if data in checked and not full:
                problem = checked[data]
            else:
                problem = smoke_test(browser, origin, path.name, full)
                checked[data] = problem
            variants.append({
                "name": name, "description": description, "min_bytes": summary["min_bytes"],
                "min_gz_bytes": summary["min_gz_bytes"], "steps": summary["steps"], "flags": summary["flags"],
                "pruned_methods": len(summary["pruned_methods"]),
                "meets_target": summary["min_gz_bytes"] <= bundle.TARGET_GZ_BYTES,
                "works": problem is None, "check": "full" if full else "happy path", "problem": problem,
            })
            log("size: %-28s %6d bytes min, %6d min+gz, %s%s" % (
                name, summary["min_bytes"], summary["min_gz_bytes"],
                "works" if problem is None else "BROKEN: " + problem, " (full check)" if full else ""))
    finally:
        for path in bundle.BUILD.glob("manager.variant-*.min.js"):
            path.unlink()
    lean = bundle.write_lean_bundle()
    floor = bundle.app_only_size()
    log("size: lean bundle written to build/manager.min.js, %d bytes min+gz; without the runtime %d" % (
        lean["min_gz_bytes"], floor["min_gz_bytes"]))

    plain = variants[0]["min_gz_bytes"]
    chosen = next(variant for variant in variants if variant["name"] == bundle.LEAN_VARIANT)
    return {
        "manager_min_gz_bytes": chosen["min_gz_bytes"],
        "manager_min_bytes": chosen["min_bytes"],
        "manager_plain_min_gz_bytes": plain,
        "manager_without_runtime_min_gz_bytes": floor["min_gz_bytes"],
        "comlink_min_gz_bytes": references["comlink"]["min_gz_bytes"],
        "workerpool_min_gz_bytes": references["workerpool"]["min_gz_bytes"],
        "ratio_to_comlink": ratio(chosen["min_gz_bytes"], references["comlink"]["min_gz_bytes"]),
        "ratio_to_workerpool": ratio(chosen["min_gz_bytes"], references["workerpool"]["min_gz_bytes"]),
        "references": references,
        "target_bytes": bundle.TARGET_GZ_BYTES,
        "met": chosen["min_gz_bytes"] <= bundle.TARGET_GZ_BYTES,
        "lean_variant": bundle.LEAN_VARIANT,
        "lean_bundle": "build/manager.min.js",
        "lean_works": chosen["works"],
        "variants": variants,
        "esbuild": bundle.esbuild_version(),
        "gzip_level": bundle.GZIP_LEVEL,
    }
