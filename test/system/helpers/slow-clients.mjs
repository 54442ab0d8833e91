// Clients that ask for a page and never read the answer, as clients on a slow
// link or stuck apps do. Runs inside the client network namespace of a test;
// plain ESM, no dependencies.
//
//   node slow-clients.mjs '{"host":"10.77.1.1","port":8080,"connections":250,"path":"/"}'
//
// Opens `connections` connections, sends one GET on each, never reads, and
// keeps them open. Prints {"event":"ready","open":N} once every request is sent,
// {"event":"stats","open":N} for every line read on stdin, and exits on SIGTERM
// or when stdin closes.
import net from 'node:net';
import { createInterface } from 'node:readline';

const spec = JSON.parse(process.argv[2] ?? '{}');
const write = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
const sockets = new Set();

function open(i) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: spec.host, port: spec.port });
    sock.once('error', reject);
    sock.once('connect', () => {
      sock.pause();
      sockets.add(sock);
      sock.once('close', () => sockets.delete(sock));
      sock.on('error', () => undefined);
      sock.write(`GET ${spec.path ?? '/'}?c=${i} HTTP/1.1\r\nHost: ${spec.host}\r\n\r\n`, () => resolve());
    });
  });
}

try {
  for (let i = 0; i < spec.connections; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, spec.connections - i) }, (_, k) => open(i + k)));
  }
  write({ event: 'ready', open: sockets.size });
} catch (err) {
  write({ event: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}

const stop = () => {
  for (const s of sockets) s.destroy();
  process.exit(0);
};
process.on('SIGTERM', stop);
createInterface({ input: process.stdin })
  .on('line', () => write({ event: 'stats', open: sockets.size }))
  .on('close', stop);
