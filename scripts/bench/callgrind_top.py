#!/usr/bin/env python3
"""The functions with the most self cost (instructions spent in their own code, not in
their callees) in one callgrind dump, as a share of the dump's total.

Used by scripts/bench/vs-webdis.sh. Reads the callgrind format directly (name
compression, the inclusive cost line after each `calls=` skipped), so the shares add up
to the dump's `totals:`. Swift symbols are demangled with `swift demangle --simplified`
when it is on the PATH.
usage: callgrind_top.py DUMP [COUNT] [WIDTH]
Standard library only.
"""
import collections
import re
import shutil
import subprocess
import sys

NAME = re.compile(r"^c?fn=\((\d+)\)(?: (.*))?")


def self_costs(path):
    names, costs = {}, collections.Counter()
    function, after_calls = None, False
    with open(path) as dump:
        for line in dump:
            match = NAME.match(line)
            if match:
                if match.group(2):
                    names[match.group(1)] = match.group(2)
                if line.startswith("fn="):
                    function = names.get(match.group(1), match.group(1))
                continue
            if line.startswith("calls="):
                after_calls = True
                continue
            if line[:1] in "0123456789+-*":
                if after_calls:
                    after_calls = False
                    continue
                fields = line.split()
                if len(fields) >= 2 and function is not None:
                    costs[function] += int(fields[1])
    return costs


def demangle(symbols):
    tool = shutil.which("swift")
    if not tool or not symbols:
        return symbols
    try:
        out = subprocess.run([tool, "demangle", "--simplified", "--compact"], input="\n".join(symbols),
                             capture_output=True, text=True, timeout=60, check=True).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return symbols
    return out if len(out) == len(symbols) else symbols


def main():
    path = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    width = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    costs = self_costs(path)
    total = sum(costs.values()) or 1
    top = costs.most_common(count)
    for (_, cost), name in zip(top, demangle([name for name, _ in top])):
        name = " ".join(name.split())
        print(f"{cost * 100 / total:5.1f} %  {name[:width]}")


if __name__ == "__main__":
    main()
