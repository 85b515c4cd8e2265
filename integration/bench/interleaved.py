#!/usr/bin/env python3
"""Runs each command once per round, ROUNDS rounds, so that a shared machine's
load drifts over all of them alike; prints the median wall and CPU time of each
and its ratios to the first command's.

    interleaved.py ROUNDS COMMAND...
"""
import resource
import statistics
import subprocess
import sys
import time

rounds, commands = int(sys.argv[1]), sys.argv[2:]
wall = {c: [] for c in commands}
cpu = {c: [] for c in commands}
for _ in range(rounds):
    for command in commands:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall[command].append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu[command].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
base_wall = statistics.median(wall[commands[0]])
base_cpu = statistics.median(cpu[commands[0]])
print("| command | median wall | ratio | median CPU | ratio |")
print("|---|---|---|---|---|")
for command in commands:
    w, c = statistics.median(wall[command]), statistics.median(cpu[command])
    print(f"| `{command}` | {w * 1000:.1f} ms | {w / base_wall:.2f} | {c * 1000:.1f} ms | {c / base_cpu:.2f} |")
