"""Supervisor options: names, defaults and validation.

Validation lives here, in the core, so that CPython and the browser reject the same
values with the same message. The adapter turns `OptionError` into JavaScript's own
`TypeError` or `RangeError`.
"""

import math

# name: default. Defaults are explained in the README's option table.
DEFAULTS = {
    "workerUrl": None,          # the adapter fills in web/worker.mjs beside the build
    "indexURL": None,           # the adapter fills in web/pyodide/ beside the build
    "pingInterval": 2000,
    "pongTimeout": 5000,
    "startupTimeout": 120000,
    "autoRestart": True,
    "backoffInitial": 1000,
    "backoffFactor": 2,
    "backoffMax": 30000,
    "maxRestarts": 5,
    "restartWindow": 60000,
    "interrupt": "auto",
    "interruptGrace": 2000,
    "hotSpare": False,
    "retries": 0,
    "setupCode": None,
    "lateTolerance": 1000,
    "detector": "fixed",
    "phiThreshold": 8,
    "maxOutput": 1048576,
    "progress": False,
    "stuckTimeout": 1500,
    "size": 2,
    "maxQueue": 1000,
    "startConcurrency": 2,
}

POOL_ONLY = ["size", "maxQueue", "startConcurrency"]


class OptionError(Exception):
    """An invalid option value. `is_range` selects RangeError over TypeError."""

    def __init__(self, message, is_range):
        Exception.__init__(self, message)
        self.message = message
        self.is_range = is_range


def describe(value):
    """Render a value for an error message the same way in both runtimes."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return '"' + value + '"'
    if is_number(value):
        return str(value)
    if isinstance(value, int) or isinstance(value, float):
        return "a number that is not finite"
    return "a value of another type"


def is_number(value):
    if value is True or value is False or value is None:
        return False
    if not (isinstance(value, int) or isinstance(value, float)):
        return False
    # NaN and the infinities fail this test in both runtimes.
    return value - value == 0


def _type_error(name, value, expected):
    return OptionError("option " + name + " must be " + expected + ", got " + describe(value), False)


def _range_error(name, value, expected):
    return OptionError("option " + name + " must be " + expected + ", got " + describe(value), True)


class Settings:
    """Validated options with defaults filled in.

    `lookup(name)` returns the caller's value for an option, or None when it is unset.
    """

    def __init__(self, names, lookup, pool):
        for name in names:
            if name not in DEFAULTS:
                raise OptionError("unknown option " + name + "; valid options are "
                                  + ", ".join(sorted(DEFAULTS.keys())), False)
            if not pool and name in POOL_ONLY:
                raise OptionError("option " + name + " applies to Pool only", False)
        self.values = {}
        self.unset = []
        for name in DEFAULTS.keys():
            value = lookup(name)
            if value is None:
                value = DEFAULTS[name]
                self.unset.append(name)
            self.values[name] = value
        if not pool:
            self.values["size"] = 1
        self._validate()

    def get(self, name):
        return self.values[name]

    def _number(self, name, minimum, inclusive):
        value = self.values[name]
        if not is_number(value):
            raise _type_error(name, value, "a finite number")
        if inclusive and value < minimum:
            raise _range_error(name, value, "at least " + str(minimum))
        if not inclusive and value <= minimum:
            raise _range_error(name, value, "greater than " + str(minimum))
        return value

    def _integer(self, name, minimum):
        value = self._number(name, minimum, True)
        # math.floor, not int(): Transcrypt's int() wraps at 2 ** 31.
        if value != math.floor(value):
            raise _type_error(name, value, "an integer")
        return value

    def _boolean(self, name):
        value = self.values[name]
        if value is not True and value is not False:
            raise _type_error(name, value, "true or false")
        return value

    def _choice(self, name, choices, shown):
        value = self.values[name]
        for choice in choices:
            if value is choice or (isinstance(value, str) and value == choice):
                return value
        raise _type_error(name, value, "one of " + shown)

    def _text(self, name):
        value = self.values[name]
        if value is not None and not isinstance(value, str):
            raise _type_error(name, value, "a string")
        return value

    def _validate(self):
        ping = self._number("pingInterval", 0, False)
        pong = self._number("pongTimeout", 0, False)
        if pong <= ping:
            raise _range_error("pongTimeout", pong, "greater than pingInterval (" + str(ping) + ")")
        self._number("startupTimeout", 0, False)
        self._boolean("autoRestart")
        initial = self._number("backoffInitial", 0, True)
        self._number("backoffFactor", 1, True)
        self._number("backoffMax", initial, True)
        self._integer("maxRestarts", 0)
        self._number("restartWindow", 0, False)
        self._choice("interrupt", ["auto", True, False], '"auto", true or false')
        self._number("interruptGrace", 0, False)
        self._boolean("hotSpare")
        self._integer("retries", 0)
        self._text("setupCode")
        self._text("workerUrl")
        self._text("indexURL")
        if "lateTolerance" in self.unset:
            # The default yields to a narrow heartbeat gap rather than reject the caller's values.
            self.values["lateTolerance"] = min(DEFAULTS["lateTolerance"], (pong - ping) / 2)
        late = self._number("lateTolerance", 0, False)
        # A stall long enough to hold back a pong past its deadline must make an earlier
        # tick late by more than the tolerance, or the stall would go unnoticed.
        if late >= pong - ping:
            raise _range_error("lateTolerance", late,
                               "less than pongTimeout - pingInterval (" + str(pong - ping) + ")")
        self._choice("detector", ["fixed", "phi"], '"fixed" or "phi"')
        threshold = self._number("phiThreshold", 0, False)
        if threshold > 100:
            # phi is computed down to probabilities of 1e-300; 100 already means 1e-100.
            raise _range_error("phiThreshold", threshold, "at most 100")
        self._integer("maxOutput", 0)
        self._boolean("progress")
        self._number("stuckTimeout", 0, False)
        self._integer("size", 1)
        self._integer("maxQueue", 0)
        self._integer("startConcurrency", 1)


def check_task_timeout(value):
    """Validate the `timeout` of one `run()` call; None means no task deadline."""
    if value is None:
        return None
    if not is_number(value):
        raise _type_error("timeout", value, "a finite number of milliseconds")
    if value <= 0:
        raise _range_error("timeout", value, "greater than 0")
    return value
