/**
 * Socket holder for the benchmark: runs inside the benchmark's network namespace
 * (`ip netns exec NS node dist/bench/sockets/holder.js '<json>'`) and holds
 * ESTABLISHED connections, one end per process:
 *
 *   server  listens on its own loopback addresses and ports (below the ephemeral
 *           range) and keeps every connection it accepts;
 *   client  connects to one server's addresses and ports and keeps every connection.
 *
 * One end per process because RLIMIT_NOFILE is capped per process (20 000 on the
 * benchmark machine, hard limit, not raisable even by root): a process holding both
 * ends of N connections needs 2N descriptors. The old self-connected holder with
 * 16 000 clients had 16 000 client fds, 20 listeners and Node's own ~20, so only
 * ~3 960 accept() calls could succeed; past that accept() failed with EMFILE and
 * libuv's EMFILE handling (uv__emfile_trick) accepted and closed the rest.
 *
 * Talks JSON lines: stdout reports ({type:'listening'|'grown'|'count'|'error'}),
 * stdin takes commands ({cmd:'grow', to} opens connections until the client holds
 * `to`; {cmd:'count'} reports how many are held; {cmd:'exit'}). It exits when stdin
 * closes, so it never outlives the benchmark.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

interface Target {
  host: string;
  port: number;
}

type HolderConfig =
  | { role: 'server'; index: number; addresses: string[]; ports: number[] }
  | { role: 'client'; index: number; targets: Target[]; concurrency: number };

const config = JSON.parse(process.argv[2] ?? '{}') as HolderConfig;
const held: Socket[] = [];
let failures = 0;
let lastFailure = '';

function send(msg: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ index: config.index, role: config.role, ...msg })}\n`);
}

function noop(): void {
  /* errors on held sockets are ignored: the count is checked through /proc */
}

async function listenAll(addresses: string[], ports: number[]): Promise<Server[]> {
  const servers: Server[] = [];
  for (const host of addresses) {
    for (const port of ports) {
      const server = createServer((sock) => {
        sock.on('error', noop);
        held.push(sock);
      });
      // server.listen's backlog is capped by net.core.somaxconn (4096 in a new
      // namespace); the clients keep at most `concurrency` handshakes in flight.
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port, backlog: 4096 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      servers.push(server);
    }
  }
  return servers;
}

function open(t: Target): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const s = connect({ host: t.host, port: t.port });
    s.once('error', reject);
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', noop);
      resolve(s);
    });
  });
}

/** Opens connections until `to` are held, at most `concurrency` handshakes in flight. */
async function grow(targets: Target[], to: number, concurrency: number): Promise<void> {
  const lanes: Promise<void>[] = [];
  let next = held.length;
  for (let l = 0; l < Math.min(concurrency, to - next); l++) {
    lanes.push(
      (async () => {
        while (next < to) {
          const i = next++;
          try {
            held.push(await open(targets[i % targets.length]!));
          } catch (err) {
            failures++;
            lastFailure = err instanceof Error ? err.message : String(err);
            if (failures > 100) throw new Error(`${failures} connects failed, last: ${lastFailure}`, { cause: err });
            next--;
          }
        }
      })(),
    );
  }
  await Promise.all(lanes);
}

async function main(): Promise<void> {
  let servers: Server[] = [];
  if (config.role === 'server') {
    servers = await listenAll(config.addresses, config.ports);
    send({ type: 'listening', listeners: servers.length });
  }
  const rl = createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  rl.on('line', (line) => {
    queue = queue
      .then(async () => {
        const cmd = JSON.parse(line) as { cmd: string; to?: number };
        if (cmd.cmd === 'grow' && config.role === 'client') {
          const started = Date.now();
          await grow(config.targets, cmd.to ?? 0, config.concurrency);
          send({ type: 'grown', held: held.length, failures, lastFailure, ms: Date.now() - started });
        } else if (cmd.cmd === 'count') {
          send({ type: 'count', held: held.length, listeners: servers.length });
        } else if (cmd.cmd === 'exit') {
          process.exit(0);
        }
      })
      .catch((err: unknown) => {
        send({ type: 'error', error: err instanceof Error ? err.message : String(err) });
        process.exit(1);
      });
  });
  rl.on('close', () => process.exit(0));
}

main().catch((err: unknown) => {
  send({ type: 'error', error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
