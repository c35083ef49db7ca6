"""sctest.py: what every Python test of sesscount shares (tests/milter,
tests/fleet): checks that record a failure with the input that broke and
go on, the exit with their tally, a free loopback port, and a bounded wait.
"""

import socket
import sys
import time

FAILURES = []


def check(cond, what):
    """Records a failure (printed with the input that broke) and goes on."""
    if not cond:
        FAILURES.append(what)
        print("FAIL: " + what, flush=True)
    return cond


def finish(name):
    if FAILURES:
        print("%s: %d failures" % (name, len(FAILURES)))
        sys.exit(1)
    print("%s: all checks passed" % name)
    sys.exit(0)


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for(pred, seconds, what):
    """Polls pred until it is true or `seconds` pass; returns its last value."""
    end = time.monotonic() + seconds
    while True:
        v = pred()
        if v or time.monotonic() > end:
            check(v, "timed out after %ss waiting for %s" % (seconds, what))
            return v
        time.sleep(0.05)
