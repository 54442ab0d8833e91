// An upstream that keeps nginx's connections in the TCP state a test asks for,
// as a stuck or slow application does. Runs inside the upstream network
// namespace of a test; plain ESM, no dependencies.
//
//   node stuck-upstream.mjs '{"listen":[{"address":"10.77.2.2","port":9000}],"mode":"hold","holdMs":120000}'
//
// Every mode keeps a connection open after nginx closes its side (allowHalfOpen:
// Node would otherwise answer nginx's FIN with its own at once), until holdMs
// after it was accepted:
//
// mode "hold": reads the request and never answers. When nginx gives up (a
//   proxy timeout, or its client went away) and closes, this side's kernel
//   acknowledges the FIN and the application does not close: nginx's socket
//   sits in FIN_WAIT2.
// mode "noread": never reads. The receive window fills with the request body,
//   nginx's unsent data and its FIN wait behind it, and nginx's closed socket
//   sits in FIN_WAIT1 while the kernel probes the zero window.
// mode "answer-close": reads the request head, sends a response of
//   `responseBytes` bytes and closes at once (Connection: close). When nginx
//   does not read it (proxy_buffering off and a client that does not read),
//   nginx's socket sits in CLOSE_WAIT with the rest and the FIN queued.
//
// Prints {"event":"ready"} once listening, {"event":"stats","accepted":N,"open":M}
// for every line read on stdin, and exits on SIGTERM or when stdin closes.
import net from 'node:net';
import { createInterface } from 'node:readline';

const spec = JSON.parse(process.argv[2] ?? '{}');
const mode = spec.mode;
const holdMs = Number(spec.holdMs ?? 120_000);
const responseBytes = Number(spec.responseBytes ?? 40_960);
const listen = Array.isArray(spec.listen) ? spec.listen : [];
const write = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);

if (!['hold', 'noread', 'answer-close'].includes(mode)) {
  write({ event: 'error', message: `unknown mode ${String(mode)}` });
  process.exit(1);
}

let accepted = 0;
const sockets = new Set();

function onConnection(sock) {
  accepted++;
  sockets.add(sock);
  sock.on('error', () => undefined);
  const timer = setTimeout(() => sock.destroy(), holdMs);
  sock.once('close', () => {
    clearTimeout(timer);
    sockets.delete(sock);
  });
  if (mode === 'noread') return;
  let head = '';
  let answered = false;
  sock.on('data', (d) => {
    if (mode !== 'answer-close' || answered) return;
    head += d.toString('latin1');
    if (!head.includes('\r\n\r\n')) return;
    answered = true;
    sock.end(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${responseBytes}\r\nConnection: close\r\n\r\n${'x'.repeat(responseBytes)}`);
  });
}

function start({ address, port }) {
  return new Promise((resolve, reject) => {
    // pauseOnConnect for "noread": Node must not read either, or its stream buffer would take the body in.
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: mode === 'noread' }, onConnection);
    server.once('error', reject);
    server.listen({ host: address, port, backlog: 4096 }, () => resolve({ address, port }));
  });
}

try {
  const bound = await Promise.all(listen.map(start));
  write({ event: 'ready', listen: bound, mode });
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
  .on('line', () => write({ event: 'stats', accepted, open: sockets.size }))
  .on('close', stop);
