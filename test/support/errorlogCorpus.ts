/**
 * The scenarios of the error-log corpus (test/system/errorlog/corpus.test.ts runs
 * them on real nginx; test/unit/errorlog/corpus.test.ts reads the lines kept
 * from those runs): which lines each failure makes nginx write, and what the
 * agent must read in them. A line belongs to the first scenario whose pattern
 * matches it.
 */
import type { ErrorKind } from '../../agent/errorlog/parse/classify.js';

export interface CorpusScenario {
  name: string;
  /** The lines of this scenario. */
  match: RegExp;
  kind: ErrorKind;
  destination: string | null;
  upstreamGroup?: string;
  bindAddress?: string;
  /** Needs the stream module. */
  stream?: boolean;
  /** Only on these versions (default: all). */
  versions?: readonly string[];
  /** nginx may or may not write it, by timing: when it does, the line must read so. */
  optional?: boolean;
}

const server = (name: string): string => `, server: ${name.replace(/\./g, '\\.')}, `;

export const CORPUS_SCENARIOS: readonly CorpusScenario[] = [
  { name: 'refused: nothing listens', match: new RegExp(`\\(111: Connection refused\\) while connecting to upstream, client: 127\\.0\\.0\\.1${server('refused.test')}`), kind: 'econnrefused', destination: '127.0.0.2:9001' },
  { name: 'connect timeout: SYNs dropped', match: new RegExp(`upstream timed out \\(110: Connection timed out\\) while connecting to upstream.*${server('timeout.test')}`), kind: 'etimedout_connect', destination: '10.255.0.9:80' },
  { name: 'an unreachable route: 113', match: new RegExp(`\\(113: No route to host\\) while connecting to upstream.*${server('unreachable.test')}`), kind: 'ehostunreach', destination: '10.99.0.9:80' },
  { name: 'no route at all: 101', match: new RegExp(`\\(101: Network is unreachable\\) while connecting to upstream.*${server('noroute.test')}`), kind: 'enetunreach', destination: '10.98.0.9:80' },
  { name: 'a silent upstream: read timeout', match: new RegExp(`upstream timed out \\(110: Connection timed out\\) while reading response header from upstream.*${server('read-timeout.test')}`), kind: 'upstream_timeout_read', destination: '127.0.0.6:9006' },
  { name: 'an upstream that resets', match: new RegExp(`\\(104: Connection reset by peer\\) while reading response header from upstream.*${server('reset.test')}`), kind: 'econnreset', destination: '127.0.0.7:9007' },
  { name: 'no live upstreams: the group', match: new RegExp(`no live upstreams while connecting to upstream.*${server('nolive.test')}`), kind: 'no_live_upstreams', destination: null, upstreamGroup: 'dead' },
  { name: 'no live upstreams: the failures before', match: new RegExp(`connect\\(\\) failed \\(111: Connection refused\\) while connecting to upstream.*${server('nolive.test')}.*upstream: "http://127\\.0\\.0\\.2:9011/"`), kind: 'econnrefused', destination: '127.0.0.2:9011' },
  { name: 'no live upstreams: the failures before (second server)', match: new RegExp(`connect\\(\\) failed \\(111: Connection refused\\) while connecting to upstream.*${server('nolive.test')}.*upstream: "http://127\\.0\\.0\\.3:9011/"`), kind: 'econnrefused', destination: '127.0.0.3:9011' },
  { name: 'no live upstreams: a server disabled', match: new RegExp(`upstream server temporarily disabled while connecting to upstream.*${server('nolive.test')}.*upstream: "http://127\\.0\\.0\\.2:9011/"`), kind: 'other', destination: '127.0.0.2:9011' },
  { name: 'no live upstreams: the other server disabled', match: new RegExp(`upstream server temporarily disabled while connecting to upstream.*${server('nolive.test')}.*upstream: "http://127\\.0\\.0\\.3:9011/"`), kind: 'other', destination: '127.0.0.3:9011' },
  { name: 'proxy_bind to an address the host does not have: 99', match: /bind\(192\.0\.2\.250\) failed \(99: Cannot assign requested address\)/, kind: 'proxy_bind_unavailable', destination: '127.0.0.2:9001', bindAddress: '192.0.2.250' },
  { name: 'proxy_bind with a port already taken: 98', match: /bind\(127\.0\.0\.1:45000\) failed \(98: Address already in use\)/, kind: 'eaddrinuse', destination: '127.0.0.6:9006', bindAddress: '127.0.0.1:45000' },
  { name: 'proxy_bind with a port: the held request times out', match: new RegExp(`upstream timed out \\(110: Connection timed out\\) while reading response header from upstream.*${server('bind98.test')}`), kind: 'upstream_timeout_read', destination: '127.0.0.6:9006' },
  { name: 'a dead resolver: the request', match: /backend\.corpus\.invalid could not be resolved \(110: Operation timed out\)/, kind: 'resolver', destination: null },
  { name: 'a dead resolver: its socket', match: /failed \(111: Connection refused\) while resolving, resolver: 127\.0\.0\.1:5353/, kind: 'resolver', destination: null },
  { name: 'a unix socket that is not there', match: /connect\(\) to unix:\/run\/corpus\/missing\.sock failed \(2: No such file or directory\)/, kind: 'other', destination: 'unix:/run/corpus/missing.sock' },
  { name: 'TLS to a plain-HTTP upstream', match: new RegExp(`SSL_do_handshake\\(\\) failed .* while SSL handshaking to upstream.*${server('tls.test')}`), kind: 'upstream_tls_failed', destination: '127.0.0.1:8099' },
  { name: 'TLS to an upstream that never answers', match: new RegExp(`upstream timed out \\(110: Connection timed out\\) while SSL handshaking to upstream.*${server('tls-timeout.test')}`), kind: 'upstream_tls_timeout', destination: '127.0.0.6:9006' },
  { name: 'an IPv4-mapped peer is the IPv4 destination', match: new RegExp(`\\(111: Connection refused\\) while connecting to upstream.*${server('mapped.test')}`), kind: 'econnrefused', destination: '127.0.0.2:9001' },
  { name: 'ports exhausted: 99', match: /connect\(\) to 127\.0\.0\.8:9008 failed \(99: Cannot assign requested address\)/, kind: 'eaddrnotavail', destination: '127.0.0.8:9008' },
  { name: 'ports exhausted: the held requests time out', match: new RegExp(`upstream timed out \\(110: Connection timed out\\) while reading response header from upstream.*${server('exhausted.test')}`), kind: 'upstream_timeout_read', destination: '127.0.0.8:9008' },
  { name: 'stream TCP: refused', match: /\(111: Connection refused\) while connecting to upstream, client: 127\.0\.0\.1, server: 127\.0\.0\.1:7001, upstream: "127\.0\.0\.2:9001"/, kind: 'econnrefused', destination: '127.0.0.2:9001', stream: true },
  { name: 'stream UDP: refused', match: /\(111: Connection refused\) while proxying and reading from upstream, udp client: 127\.0\.0\.1, server: 127\.0\.0\.1:7002, upstream: "127\.0\.0\.2:9002"/, kind: 'econnrefused', destination: '127.0.0.2:9002', stream: true },
  { name: 'descriptors: the upstream socket()', match: /socket\(\) failed \(24: Too many open files\) while connecting to upstream/, kind: 'emfile', destination: '127.0.0.9:9009' },
  { name: 'descriptors: accept4()', match: /accept4\(\) failed \(24: Too many open files\)/, kind: 'emfile', destination: null, optional: true },
  { name: 'descriptors: the held requests time out', match: new RegExp(`upstream timed out \\(110: Connection timed out\\) while reading response header from upstream.*${server('limits.test')}`), kind: 'upstream_timeout_read', destination: '127.0.0.9:9009' },
  { name: 'connection slots: for the upstream', match: /worker_connections are not enough while connecting to upstream/, kind: 'worker_connections', destination: '127.0.0.10:9010' },
  { name: 'connection slots: idle keepalive connections reused', match: /worker_connections are not enough, reusing connections$/, kind: 'worker_connections', destination: null, optional: true },
  { name: 'connection slots: for a client', match: /\[alert\] \d+#\d+: \d+ worker_connections are not enough$/, kind: 'worker_connections', destination: null, optional: true },
  { name: 'connection slots: the held requests time out', match: new RegExp(`upstream timed out \\(110: Connection timed out\\) while reading response header from upstream.*${server('slots.test')}`), kind: 'upstream_timeout_read', destination: '127.0.0.10:9010' },
];

/** Where the corpus's files are, in the lines kept (the run's temporary directory, replaced). */
export const CORPUS_DIR = '/run/corpus';

/** The scenario a line belongs to, or null. */
export function scenarioOf(line: string): CorpusScenario | null {
  return CORPUS_SCENARIOS.find((s) => s.match.test(line)) ?? null;
}
