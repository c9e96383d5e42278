"""Bundle the built manager into one lean ES module: build/manager.min.js.

Run `python -m bench.bundle` after `make build`. It bundles copies of build/*.js with
esbuild from node_modules and leaves the Python source and Transcrypt's output as they
are. Plain `esbuild --bundle --minify` keeps nearly all of Transcrypt's runtime, for the
three reasons that the first three steps below remove; the fourth step shortens names.

pure        The runtime and the modules define classes with top-level `__class__ (...)`
            calls, which esbuild must assume have side effects, so no unused class is
            dropped. `--pure:__class__` does not help: esbuild 0.28.2 applies `--pure` to
            global names only, and `__class__` is a module binding. A `/* @__PURE__ */`
            comment before each such call does help.
namespaces  Transcrypt imports a Python module as a namespace and copies it into a plain
            object with `__nest__`, which keeps every export of that module. The step
            imports the namespace under the module's name (`import * as core`), so
            esbuild keeps only the members the code reads.
prune       The runtime adds Python's str, list and set methods to String.prototype and
            Array.prototype. Those assignments are side effects, so they are all kept.
            The step drops each method whose name occurs nowhere else in the bundle, and
            repeats until no more methods can be dropped.
mangle      esbuild renames the snake_case properties (the core's private attributes) and
            the adapter's `_private` ones. The runtime's `py_` methods keep their names,
            because the runtime sets them by string.
"""

import gzip
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
ESBUILD = ROOT / "node_modules" / ".bin" / "esbuild"
RUNTIME = "org.transcrypt.__runtime__.js"
LEAN_BUNDLE = BUILD / "manager.min.js"
GZIP_LEVEL = 9
TARGET_GZ_BYTES = 8 * 1024

BASE_FLAGS = ["--bundle", "--minify", "--format=esm", "--log-level=error"]
# Go regular expressions (RE2), which have no lookahead: "py_" names are excluded by
# spelling out every other start.
SNAKE_CASE = "([a-oq-z][a-z0-9]*|p[a-xz0-9][a-z0-9]*|py[a-z0-9]+)(_[a-z0-9]+)+"
MANGLE_FLAG = "--mangle-props=^(_[a-z][a-z0-9_]*|" + SNAKE_CASE + ")$"

# Cumulative variants: each one adds its step to the ones before it.
VARIANTS = [
    ("esbuild", "esbuild --bundle --minify --format=esm", [], []),
    ("esbuild --pure:__class__", "the same with --pure:__class__", [], ["--pure:__class__"]),
    ("esbuild --tree-shaking=true", "the same with --tree-shaking=true", [], ["--tree-shaking=true"]),
    ("+ pure", "/* @__PURE__ */ before each top-level class definition", ["pure"], []),
    ("+ namespaces", "modules imported as namespaces instead of __nest__ copies", ["pure", "namespaces"], []),
    ("+ prune", "unused str and list methods of the runtime dropped", ["pure", "namespaces", "prune"], []),
    ("+ mangle", "private snake_case properties renamed", ["pure", "namespaces", "prune"], [MANGLE_FLAG]),
]
LEAN_VARIANT = "+ mangle"

# Method names that JavaScript calls without naming them in the source.
IMPLICIT_METHODS = {"next", "return", "throw", "then", "toString", "valueOf", "toJSON", "constructor"}
MAX_PRUNE_PASSES = 10


def esbuild_version():
    result = subprocess.run([str(ESBUILD), "--version"], capture_output=True, text=True, timeout=60)
    return result.stdout.strip()


def gzip_size(data):
    return len(gzip.compress(data, compresslevel=GZIP_LEVEL))


def esbuild(entry, outfile, flags):
    """Bundle `entry` into `outfile`; return the bundle's bytes."""
    command = [str(ESBUILD), str(entry), "--outfile=" + str(outfile)] + BASE_FLAGS + list(flags)
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError("esbuild failed on " + str(entry) + ":\n" + result.stderr[-2000:])
    return pathlib.Path(outfile).read_bytes()


# -- the steps ---------------------------------------------------------------------------

CLASS_DEFINITION = re.compile(r"^((?:export )?var \w+ =)\s+(__class__ \()", re.M)
TERMINAL = ("export var __terminal__ = __Terminal__ ();\n"
            "export var print = __terminal__.print;\n"
            "export var input = __terminal__.input;")
PURE_TERMINAL = ("export var __terminal__ = /* @__PURE__ */ __Terminal__ ();\n"
                 "export var print = /* @__PURE__ */ ((terminal) => terminal.print) (__terminal__);\n"
                 "export var input = /* @__PURE__ */ ((terminal) => terminal.input) (__terminal__);")


def mark_pure(text):
    """Put /* @__PURE__ */ before each top-level class definition and the runtime's terminal."""
    text = CLASS_DEFINITION.sub(r"\1 /* @__PURE__ */ \2", text)
    return text.replace(TERMINAL, PURE_TERMINAL)


# Transcrypt writes `var core = {};`, later `import * as __module_core__ from './core.js';`
# and `__nest__ (core, '', __module_core__);` for `import core`.
NESTED_IMPORT = re.compile(
    r"^var (?P<name>\w+) = \{\};\n(?P<between>(?:.*\n)*?)"
    r"import \* as __module_(?P=name)__ from '(?P<path>\./[\w.]+\.js)';\n"
    r"__nest__ \((?P=name), '', __module_(?P=name)__\);\n", re.M)


def import_namespaces(text):
    """Replace each __nest__ copy of a module with a namespace import under the same name."""
    for _ in range(100):
        replaced = NESTED_IMPORT.sub(
            lambda match: match.group("between") + "import * as " + match.group("name")
            + " from '" + match.group("path") + "';\n", text, count=1)
        if replaced == text:
            return text
        text = replaced
    raise RuntimeError("more than 100 nested module imports in one file")


def top_level_statements(text):
    """Split JavaScript into top-level statements by indentation.

    Transcrypt's runtime and esbuild's unminified output both start every top-level
    statement at column 0 and indent everything inside it. A line at column 0 that
    starts with a closing bracket ends the statement above it.
    """
    statements = []
    current = []
    for line in text.split("\n"):
        starts_statement = line != "" and not line[0].isspace() and line[0] not in "})]"
        if starts_statement and len(current) > 0:
            statements.append("\n".join(current))
            current = []
        current.append(line)
    if len(current) > 0:
        statements.append("\n".join(current))
    return statements


PROTOTYPE_METHOD = re.compile(r"^\w+\.prototype\.(\w+) = |^__setproperty__ ?\(\w+\.prototype, [\"'](\w+)[\"']")


def prototype_method(statement):
    """The method name a top-level statement assigns to a prototype, or None."""
    match = PROTOTYPE_METHOD.match(statement)
    if match is None:
        return None
    return match.group(1) or match.group(2)


def mentions(text, name):
    return re.search(r"\." + re.escape(name) + r"\b|[\"']" + re.escape(name) + r"[\"']", text) is not None


def unused_methods(bundle_text):
    """Prototype methods that no code reachable in this unminified bundle names."""
    statements = top_level_statements(bundle_text)
    methods = {}
    others = []
    for statement in statements:
        name = prototype_method(statement)
        if name is None:
            others.append(statement)
        else:
            methods.setdefault(name, []).append(statement)
    body = "\n".join(others)
    live = {name for name in methods if name in IMPLICIT_METHODS or mentions(body, name)}
    # A live method may name others in its own body.
    growing = True
    while growing:
        growing = False
        for name in list(live):
            for statement in methods[name]:
                for other in methods:
                    if other not in live and mentions(statement, other):
                        live.add(other)
                        growing = True
    return set(methods) - live


def prune_runtime(folder):
    """Drop unused prototype methods from the runtime in `folder`; return their names."""
    runtime = folder / RUNTIME
    statements = top_level_statements(runtime.read_text())
    dropped = set()
    for _ in range(MAX_PRUNE_PASSES):
        runtime.write_text("\n".join(s for s in statements if prototype_method(s) not in dropped))
        probe = folder / "probe.js"
        text = esbuild(folder / "manager.js", probe, ["--minify=false"]).decode()
        probe.unlink()
        found = unused_methods(text) - dropped
        if len(found) == 0:
            return sorted(dropped)
        dropped |= found
    raise RuntimeError("pruning did not settle within " + str(MAX_PRUNE_PASSES) + " passes")


def prepare(folder, steps):
    """Copy build/*.js into `folder` and apply the source steps; return the pruned names."""
    for source in BUILD.glob("*.js"):
        if source.name.startswith("manager.") and source.name != "manager.js":
            continue
        text = source.read_text()
        if "pure" in steps:
            text = mark_pure(text)
        if "namespaces" in steps:
            text = import_namespaces(text)
        (folder / source.name).write_text(text)
    if "prune" in steps:
        return prune_runtime(folder)
    return []


def build_variant(steps, flags, outfile, external_runtime=False):
    """Bundle build/manager.js with the steps and flags into `outfile`; return a summary."""
    with tempfile.TemporaryDirectory(prefix="lean-bundle-") as scratch:
        folder = pathlib.Path(scratch)
        pruned = prepare(folder, steps)
        extra = list(flags)
        if external_runtime:
            extra += ["--external:./" + RUNTIME, "--external:./copy.js"]
        data = esbuild(folder / "manager.js", outfile, extra)
    return {"min_bytes": len(data), "min_gz_bytes": gzip_size(data), "pruned_methods": pruned}


def measure_variants(out_folder):
    """Build every variant into out_folder; return [(name, description, file, summary)]."""
    measured = []
    for index, (name, description, steps, flags) in enumerate(VARIANTS):
        outfile = out_folder / ("manager.variant-" + str(index) + ".min.js")
        summary = build_variant(steps, flags, outfile)
        summary["steps"] = steps
        summary["flags"] = flags
        measured.append((name, description, outfile, summary))
    return measured


def app_only_size():
    """Measure the lean variant without Transcrypt's runtime, the floor that bundling can reach."""
    steps, flags = next((v[2], v[3]) for v in VARIANTS if v[0] == LEAN_VARIANT)
    with tempfile.TemporaryDirectory(prefix="lean-bundle-") as scratch:
        return build_variant(steps, flags, pathlib.Path(scratch) / "app.js", external_runtime=True)


# The libraries set beside the manager: their minified builds, bundled the same way.
# workerpool's browser build also contains its Node.js branches; their built-in
# modules are left external, as a browser bundle would leave them.
REFERENCES = {
    "comlink": ("node_modules/comlink/dist/esm/comlink.min.mjs", []),
    "workerpool": ("node_modules/workerpool/dist/workerpool.min.js",
                   ["--external:child_process", "--external:os", "--external:worker_threads"]),
}


def measure_references():
    sizes = {}
    with tempfile.TemporaryDirectory(prefix="reference-bundle-") as scratch:
        for name, (path, flags) in REFERENCES.items():
            data = esbuild(ROOT / path, pathlib.Path(scratch) / (name + ".js"), flags)
            shipped = (ROOT / path).read_bytes()
            sizes[name] = {"entry": path, "min_bytes": len(data), "min_gz_bytes": gzip_size(data),
                           "shipped_gz_bytes": gzip_size(shipped)}
    return sizes


def write_lean_bundle():
    """Write build/manager.min.js with every step; return its summary."""
    steps, flags = next((v[2], v[3]) for v in VARIANTS if v[0] == LEAN_VARIANT)
    return build_variant(steps, flags, LEAN_BUNDLE)


def main():
    if not (BUILD / "manager.js").exists():
        print("build/manager.js is missing: run `make build` first", file=sys.stderr)
        return 1
    if shutil.which(str(ESBUILD)) is None:
        print("esbuild is missing at " + str(ESBUILD) + ": run `npm ci`", file=sys.stderr)
        return 1
    summary = write_lean_bundle()
    print("wrote %s: %d bytes minified, %d bytes gzipped (level %d)" % (
        LEAN_BUNDLE.relative_to(ROOT), summary["min_bytes"], summary["min_gz_bytes"], GZIP_LEVEL))
    return 0


if __name__ == "__main__":
    sys.exit(main())
