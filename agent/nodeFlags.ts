/**
 * V8 flags the daemon runs with (the `agent` bin's shebang and `npm start` pass
 * them; keep the three in step).
 *
 * --max-semi-space-size=4 caps the young generation at 4 MiB per semi-space. The
 * daemon's garbage is small and short-lived (a scrape, a sample's model), but V8
 * grows the young generation with the allocation rate: under frequent scrapes
 * Node 24 went to ~64 MiB of young generation and the daemon's peak RSS from
 * 118 MB to 150 MB while sampling 120 000 sockets; with the cap it stayed at
 * 126 MB, with no measurable cost in sample time or /metrics latency
 * (bench/README.md).
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

/**
 * The V8 flags `agent diagnose` sets before it starts the threads that read a
 * large error log in parts (errorlog/read/recent.ts, ScanThreads).
 *
 * By default V8 optimises a hot function on a background thread while the
 * function goes on running unoptimised code. A scan thread spends its first
 * few MiB that way; with every core busy scanning, the background compiles wait
 * for a core too, and the first 8 MiB part took 120–160 ms instead of 27 ms
 * per thread on the 2-core benchmark machine (bench/README.md). With
 * --no-concurrent-recompilation the thread compiles there and then and goes on
 * with the fast code: `diagnose` over the benchmark's 1 M lines took 6–7 % less
 * time on Node 20 and 24 (the flag on the command line, alternating runs).
 *
 * V8 reads the flag when it creates an isolate (its optimising-compile
 * dispatcher), so setting it at run time (node:v8 setFlagsFromString) reaches the
 * worker threads started after it, which is where the scan runs; Node 24 applies
 * it to the command's own thread as well, Node 20 does not. The daemon never sets
 * it: its event loop serves /metrics, and a compile there would hold a scrape.
 *
 * --single-threaded-gc, likewise: each heap is collected by the thread that
 * allocates in it, without V8's helper threads (parallel scavenges, concurrent
 * marking and sweeping). A scan thread makes a string of every line, so it
 * collects its young generation tens of times a run; with the command's thread
 * and two scan threads on two cores, the helpers found no idle core and took
 * time from the reading. `diagnose` over the benchmark's 1 M lines, alternating
 * runs: 0.967× the time on Node 20 (twice, 21 pairs each), no change on Node 24
 * (0.996×). The command ends when the threads have read, so its own thread
 * (which the flag reaches too) has no use for the helpers either.
 */
export const SCAN_V8_FLAGS = '--no-concurrent-recompilation --single-threaded-gc';
