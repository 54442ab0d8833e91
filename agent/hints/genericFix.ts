/**
 * The fix for a destination short of ports when nginx's config is unknown or
 * does not reach it: a template, labelled as one. Config-aware rules replace it
 * with exact lines. Pure.
 */
import type { DestinationHeadroom, KernelSettings } from '../sockets/model/headroom.js';
import { otherStatesText } from './destinations.js';

/** The widest range that leaves the privileged ports alone. */
export const WIDE_RANGE = { low: 1024, high: 65535 };
export const WIDE_RANGE_SIZE = WIDE_RANGE.high - WIDE_RANGE.low + 1;
/** Size of the kernel's default ip_local_port_range, 32768-60999. */
export const DEFAULT_RANGE_SIZE = 60999 - 32768 + 1;

export function genericHeadroomFix(ds: readonly DestinationHeadroom[], settings: KernelSettings, configNote: string | null): string {
  const blockingTimeWait = ds.reduce((s, d) => s + d.timeWait - d.timeWaitReusable, 0);
  const held = ds.reduce((s, d) => s + d.established + d.other, 0);
  const lines: string[] = [];
  if (configNote !== null) lines.push(`(${configNote}: the lines below are a template, not checked against nginx's config.)`);
  if (blockingTimeWait >= held) {
    lines.push(
      'Most ports are held by TIME_WAIT: the client side opens and closes a connection per request. If this is nginx, reuse upstream connections:',
      '  upstream <name> { server ' + (ds[0]?.destination ?? '<ip:port>') + '; keepalive 32; }',
      '  location … { proxy_pass http://<name>; proxy_http_version 1.1; proxy_set_header Connection ""; }',
    );
    if (!ds.every((d) => d.timeWaitReuse)) {
      lines.push(`and/or let connect() reuse TIME_WAIT 4-tuples older than ${settings.tcpTwReuseDelayMs} ms: sysctl -w net.ipv4.tcp_tw_reuse=1`);
    }
  } else {
    const established = ds.reduce((s, d) => s + d.established, 0);
    if (established * 2 >= held) {
      lines.push(
        'Most ports are held by open (ESTABLISHED) connections. Add 4-tuple space: more upstream server IPs, or more source IPs',
        '  with split_clients + proxy_bind $source_ip (each source IP adds a whole port range per destination),',
        'or cap concurrency: max_conns on the upstream servers; find why responses are slow.',
      );
    } else {
      lines.push(
        `Most ports are held by sockets that are neither ESTABLISHED nor TIME_WAIT (${ds.slice(0, 1).map(otherStatesText).join('')}): ` +
          'the finding for that state (syn_sent_exhaustion, fin_wait1_exhaustion, fin_wait2_exhaustion, close_wait_exhaustion) names the cause.',
      );
    }
  }
  if (settings.portRange.high - settings.portRange.low + 1 < WIDE_RANGE_SIZE) {
    lines.push(`Widen the range: sysctl -w net.ipv4.ip_local_port_range="${WIDE_RANGE.low} ${WIDE_RANGE.high}" (see port_range_narrow).`);
  }
  return lines.join('\n');
}

/** ip_local_reserved_ports as the sysctl prints it: "8080,40000-40009". */
export function reservedPortList(spans: readonly { from: number; to: number }[] | null): string[] {
  return (spans ?? []).map((s) => (s.from === s.to ? `${s.from}` : `${s.from}-${s.to}`));
}
