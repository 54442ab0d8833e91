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
