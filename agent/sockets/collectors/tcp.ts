/**
 * tcp and tcp6: the socket tables, /proc/net/tcp and /proc/net/tcp6, streamed
 * through the byte scanner into one SocketTableBuilder.
 *
 * One collector for both tables, not two: IPv4 and IPv6 share one port space per
 * namespace, so a listener in either table takes its port from every destination
 * of both (inet_hashtables.c), and the builder can only tell listening ports from
 * used ones once it has seen both. Two collectors would have to hand a half-built
 * builder from one to the other; here that ordering stays inside one file.
 *
 * net/tcp is required (it always exists); net/tcp6 is absent when IPv6 is disabled
 * (ipv6.disable=1) and is then `unavailable`.
 */
import { errorMessage } from '../../errors.js';
import { SocketTableBuilder, type SocketTable } from '../model/socketTable.js';
import { TcpTableStream, type AddressFamily } from '../parse/procNetTcp.js';
import { procPath } from '../read/procfs.js';
import type { SourceStatus } from '../model/types.js';
import type { Collector, CollectorContext } from './collector.js';
import type { SysctlCollected } from './sysctl.js';

export interface TcpCollected {
  /** Both tables' sockets; null unless net/tcp was read (tcp6 alone is not the host's sockets). */
  table: SocketTable | null;
  /** Lines of each table skipped because they did not parse. */
  malformedLines: { tcp: number; tcp6: number };
  /** The first malformed lines, each naming its file. */
  problems: string[];
}

type TableSource = 'tcp' | 'tcp6';

/** Streams one table into the builder; its status and how many of its lines did not parse. */
function readTable(
  ctx: CollectorContext,
  builder: SocketTableBuilder,
  source: TableSource,
  rel: string,
  family: AddressFamily,
): { status: SourceStatus; malformed: number } {
  builder.currentSource = procPath(ctx.procRoot, rel);
  builder.takeFirstMalformed(); // from the previous table
  const stream = new TcpTableStream(family, ctx.endianness, builder);
  const before = builder.malformedRows;
  const r = ctx.buffer.stream(ctx.procRoot, rel, (chunk, length) => {
    stream.push(chunk, length);
  });
  stream.end();
  if (!r.ok) {
    // tcp6 is absent when IPv6 is disabled (ipv6.disable=1); tcp never is.
    if (r.missing && source === 'tcp6') return { status: { source, state: 'unavailable', detail: r.error }, malformed: 0 };
    if (source === 'tcp') {
      const detail = errorMessage('AGENT_ERR_PROC_UNREADABLE', 'unreadable', { path: r.path, reason: r.reason });
      return { status: { source, state: 'error', detail, code: 'AGENT_ERR_PROC_UNREADABLE' }, malformed: 0 };
    }
    return { status: { source, state: 'error', detail: r.error }, malformed: 0 };
  }
  const bad = builder.malformedRows - before;
  // The kernel always prints the header, and a table of which no line parses is
  // not a socket table: counting it as "no sockets" would report an exhausted host
  // as healthy. The source is down and the last good values stay.
  if (r.value === 0 || (bad > 0 && stream.rows === 0)) {
    const problem =
      r.value === 0
        ? "empty, not the kernel's format"
        : `not the kernel's format (${bad} malformed line(s), no socket row; ${builder.takeFirstMalformed() ?? ''})`;
    const detail = errorMessage('AGENT_ERR_PROC_MALFORMED', 'malformed', { path: r.path, problem });
    return { status: { source, state: 'error', detail, ...(source === 'tcp' ? { code: 'AGENT_ERR_PROC_MALFORMED' as const } : {}) }, malformed: bad };
  }
  return { status: bad > 0 ? { source, state: 'ok', detail: `${bad} malformed line(s) skipped` } : { source, state: 'ok' }, malformed: bad };
}

export const tcpCollector: Collector<'tcp', TcpCollected, { sysctl: SysctlCollected }> = {
  name: 'tcp',
  sources: ['tcp', 'tcp6'],
  collect(ctx) {
    // Without the port range there is nothing to compare sockets against, but the
    // tables are still read so state counts and source health stay visible.
    const range = ctx.earlier.sysctl.settings?.portRange ?? { low: 1, high: 0 };
    const builder = new SocketTableBuilder(range, ctx.buffer.records);
    const tcp = readTable(ctx, builder, 'tcp', 'net/tcp', 4);
    const tcp6 = readTable(ctx, builder, 'tcp6', 'net/tcp6', 6);
    const table = builder.build();
    return {
      status: [tcp.status, tcp6.status],
      values: {
        table: tcp.status.state === 'ok' ? table : null,
        malformedLines: { tcp: tcp.malformed, tcp6: tcp6.malformed },
        problems: table.malformedRows > 0 ? [...table.malformedSamples] : [],
      },
    };
  },
  empty: () => ({ table: null, malformedLines: { tcp: 0, tcp6: 0 }, problems: [] }),
};
