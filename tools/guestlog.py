#!/usr/bin/python3
"""What the guest tests' meson logs say (tools/test.sh reads them).

  guestlog.py lost LOG.json          the tests whose guest hung: they bailed
                                     out with the harness's own words for a
                                     guest that stopped answering, did not
                                     boot or did not come back from a reboot
  guestlog.py count LOG.json...      "PASSED FAILED": ok lines, and not ok
                                     plus Bail out lines, of each test's last
                                     run (a later log's run of a test replaces
                                     an earlier one's)
"""
import json
import sys

LOST = ("Bail out! the guest stopped answering",
        "Bail out! the guest did not boot",
        "Bail out! the guest did not come back")


def runs(paths):
    last = {}
    for path in paths:
        try:
            f = open(path, encoding="utf-8")
        except FileNotFoundError:
            print(f"guestlog.py: no {path}", file=sys.stderr)
            continue
        with f:
            for line in f:
                if line.strip():
                    run = json.loads(line)
                    last[run["name"]] = run
    return last


def main(argv):
    if len(argv) < 3 or argv[1] not in ("lost", "count"):
        print(__doc__, file=sys.stderr)
        return 2
    last = runs(argv[2:])
    if argv[1] == "lost":
        for name, run in last.items():
            out = run.get("stdout") or ""
            if run["result"] != "OK" and any(w in out for w in LOST):
                print(name.split(" / ")[-1])
        return 0
    passed = failed = 0
    for run in last.values():
        for line in (run.get("stdout") or "").splitlines():
            if line.startswith("ok "):
                passed += 1
            elif line.startswith(("not ok ", "Bail out!")):
                failed += 1
    print(passed, failed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
