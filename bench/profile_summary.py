"""Top entries of a py-spy folded-stacks profile (`bench/gateway.py --profile FILE`): self and total time."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path


def main() -> None:
    path = Path(sys.argv[1])
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = stack.split(";")
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    print(f"{samples} samples\n\nself time:")
    for frame, n in own.most_common(top):
        print(f"{n / samples:6.1%}  {frame}")
    print("\ntotal time (own + callees):")
    for frame, n in total.most_common(top):
        print(f"{n / samples:6.1%}  {frame}")


if __name__ == "__main__":
    main()
