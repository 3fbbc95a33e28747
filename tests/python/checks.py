"""The check runner the Python test scripts share: each check prints 'OK <name>' or
'FAIL <name>: <why>' (the C++ side counts them, tests/support/script_checks.hpp), and finish()
exits non-zero if any failed."""
import sys
import traceback

failures = 0


def check(name, fn):
    global failures
    try:
        fn()
        print(f"OK {name}", flush=True)
    except Exception as e:  # noqa: BLE001 - report every kind of failure
        failures += 1
        print(f"FAIL {name}: {e!r}", flush=True)
        traceback.print_exc(file=sys.stderr)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def finish():
    sys.exit(1 if failures else 0)
