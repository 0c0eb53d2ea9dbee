#!/usr/bin/env python3
"""Counts the public methods of `Communicator` (the class and its extensions) in Sources/MPICore,
the measure docs/DESIGN.md quotes for the API's size: every `public func` declared inside
`class Communicator` or an `extension Communicator`, deprecated forwards counted apart. Also the
lines of the collective front end (the collective operation files and their shared support).

    scripts/count-api.py [SOURCE_ROOT]      (default: Sources/MPICore of this checkout)
"""
import os, re, sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "Sources", "MPICore")
live = deprecated = 0
for folder, _, files in os.walk(root):
    for name in sorted(files):
        if not name.endswith(".swift"):
            continue
        depth, inside, pending_deprecated = 0, False, False
        for line in open(os.path.join(folder, name)):
            stripped = line.strip()
            if depth == 0 and re.match(r"(public |package )?(final )?(class|extension) Communicator\b", stripped):
                inside = True
            if inside and depth >= 1 and "@available(" in stripped and "deprecated" in stripped:
                pending_deprecated = True
            if inside and depth == 1 and re.match(r"(@\w+(\([^)]*\))? )*public (static )?func ", stripped):
                if pending_deprecated:
                    deprecated += 1
                else:
                    live += 1
                pending_deprecated = False
            depth += line.count("{") - line.count("}")
            if depth == 0:
                inside = False
collective_files = []
for folder, _, files in os.walk(root):
    for name in files:
        path = os.path.join(folder, name)
        if "Collective" in name and "Communicator+" in name or os.path.basename(folder) == "Collectives":
            collective_files.append(path)
lines = sum(sum(1 for _ in open(path)) for path in collective_files)
print(f"public Communicator methods: {live} (deprecated forwards: {deprecated})")
print(f"collective front end: {lines} lines in {len(collective_files)} files")
