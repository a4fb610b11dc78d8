"""A loopback TCP proxy that makes a connection behave like one over a real network.

Each direction of each connection is delayed by half the round-trip time and capped at the
given bandwidth (no burst credit), so a single connection is bound by latency and its own
bandwidth, as an upload from a CI runner to PyPI is — and parallel connections each get
their own share, as they do there. Buffers are bounded, so a fast sender feels backpressure.

    python delay_proxy.py --listen 8081 --upstream 8080 --rtt-ms 50 --mbit 100
"""

import argparse
import asyncio

CHUNK = 64 * 1024
QUEUE_CHUNKS = 16


async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, delay: float, rate: float) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_CHUNKS)

    async def read() -> None:
        try:
            while True:
                data = await src.read(CHUNK)
                await queue.put((loop.time() + delay, data))
                if not data:
                    return
        except (ConnectionError, OSError):
            await queue.put((loop.time(), b""))

    async def write() -> None:
        next_free = 0.0
        try:
            while True:
                due, data = await queue.get()
                now = loop.time()
                if due > now:
                    await asyncio.sleep(due - now)
                if not data:
                    if dst.can_write_eof():
                        dst.write_eof()
                    return
                if rate > 0:
                    start = max(loop.time(), next_free)
                    if start > loop.time():
                        await asyncio.sleep(start - loop.time())
                    next_free = start + len(data) / rate
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            return

    await asyncio.gather(read(), write())


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", type=int, required=True)
    p.add_argument("--upstream", type=int, required=True)
    p.add_argument("--rtt-ms", type=float, default=50)
    p.add_argument("--mbit", type=float, default=100, help="per connection and direction; 0 = no cap")
    args = p.parse_args()
    delay = args.rtt_ms / 2000
    rate = args.mbit * 1e6 / 8

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", args.upstream)
        except OSError:
            writer.close()
            return
        # Connection setup costs a round trip on a real network too.
        await asyncio.sleep(2 * delay)
        await asyncio.gather(pump(reader, up_w, delay, rate), pump(up_r, writer, delay, rate))
        for w in (writer, up_w):
            w.close()

    server = await asyncio.start_server(handle, "127.0.0.1", args.listen)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
