"""The usage writer process: `python -m covey.usage.writer_process DOWN UP`, started by
`covey.usage.batches.InProcess` with the two pipe ends it reads batches from and answers on."""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection

from covey.usage.batches import serve

if __name__ == "__main__":
    serve(Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False))
