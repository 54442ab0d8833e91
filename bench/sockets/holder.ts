/**
 * Socket holder for the benchmark: runs inside the benchmark's network namespace
 * (`ip netns exec NS node dist/bench/sockets/holder.js '<json>'`), listens on its
 * own loopback addresses and ports (below the ephemeral range) and holds
 * `connections` connections to itself: ~2 fds per connection, so one process stays
 * under the 20 000 RLIMIT_NOFILE hard limit.
 *
 * Talks JSON lines: stdout reports ({type:'ready'|'tw-done'|'error'}), stdin takes
 * commands ({cmd:'tw', count} makes `count` client-closed connections, which leave
 * TIME_WAIT sockets behind; {cmd:'exit'}). It exits when stdin closes, so it never
 * outlives the benchmark.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

interface HolderConfig {
  index: number;
  addresses: string[];
  ports: number[];
  connections: number;
  concurrency: number;
}

interface Target {
  host: string;
  port: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as HolderConfig;
const targets: Target[] = [];
for (const host of config.addresses) for (const port of config.ports) targets.push({ host, port });

const clients: Socket[] = [];
const accepted: Socket[] = [];
const servers: Server[] = [];
let holding = true;

function send(msg: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ index: config.index, ...msg })}\n`);
}

function noop(): void {
  /* errors on held sockets are ignored: the count is checked via /proc */
}

async function listenAll(): Promise<void> {
  for (const t of targets) {
    const server = createServer((sock) => {
      sock.on('error', noop);
      if (holding) accepted.push(sock);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: t.host, port: t.port, backlog: 4096 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    servers.push(server);
  }
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

/** Runs `total` jobs with at most `concurrency` in flight. */
async function pool(total: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes: Promise<void>[] = [];
  for (let l = 0; l < Math.min(concurrency, total); l++) {
    lanes.push(
      (async () => {
        while (next < total) {
          const i = next++;
          await job(i);
        }
      })(),
    );
  }
  await Promise.all(lanes);
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** Connect, then close from the client side first: the client end goes to TIME_WAIT. */
async function makeTimeWait(count: number): Promise<void> {
  await pool(count, config.concurrency, async (i) => {
    const s = await open(targets[(i * 7) % targets.length]!);
    await new Promise<void>((resolve) => {
      s.once('close', () => {
        resolve();
      });
      s.end();
    });
  });
}

async function main(): Promise<void> {
  await listenAll();
  await pool(config.connections, config.concurrency, async (i) => {
    clients.push(await open(targets[i % targets.length]!));
  });
  const all = await waitFor(() => accepted.length >= clients.length, 30_000);
  holding = false;
  send({ type: 'ready', clients: clients.length, accepted: accepted.length, listeners: servers.length, complete: all });

  const rl = createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  rl.on('line', (line) => {
    queue = queue.then(async () => {
      const cmd = JSON.parse(line) as { cmd: string; count?: number };
      if (cmd.cmd === 'tw') {
        const started = Date.now();
        await makeTimeWait(cmd.count ?? 0);
        send({ type: 'tw-done', count: cmd.count ?? 0, ms: Date.now() - started });
      } else if (cmd.cmd === 'exit') {
        process.exit(0);
      }
    });
  });
  rl.on('close', () => process.exit(0));
}

main().catch((err: unknown) => {
  send({ type: 'error', error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
