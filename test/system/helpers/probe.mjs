// The oracle: how many more connect() calls the kernel accepts to one destination,
// right now. Runs inside a test network namespace, plain ESM, no dependencies.
//
//   node probe.mjs '{"host":"127.0.0.2","port":9000,"max":1000}'
//
// Connects one at a time (each connect() settles before the next starts), never
// bind()s, and keeps every successful connection open so each one holds its port.
// Stops at the first EADDRNOTAVAIL (the kernel found no free 4-tuple) or at `max`.
// Prints {"connected":N,"stoppedBy":"EADDRNOTAVAIL"|"max","ports":[...]} and
// exits 0. Any other error (refused, timeout, EMFILE…) means the probe could not
// measure: it prints {"error":...} and exits 1, so the test fails instead of
// counting it.
import net from 'node:net';

const CONNECT_TIMEOUT_MS = 5_000;

const spec = JSON.parse(process.argv[2] ?? '{}');
const max = spec.max ?? 1000;
if (typeof spec.host !== 'string' || !Number.isInteger(spec.port) || !Number.isInteger(max) || max < 0) {
  process.stdout.write(`${JSON.stringify({ error: `bad spec ${process.argv[2] ?? ''}` })}\n`);
  process.exit(1);
}

function connectOnce() {
  return new Promise((resolve) => {
    const sock = net.connect({ host: spec.host, port: spec.port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ ok: false, code: 'TIMEOUT' });
    }, CONNECT_TIMEOUT_MS);
    sock.once('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, code: err.code ?? err.message });
    });
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.on('error', () => undefined);
      resolve({ ok: true, sock });
    });
  });
}

const held = [];
let stoppedBy = 'max';
while (held.length < max) {
  const r = await connectOnce();
  if (r.ok) {
    held.push(r.sock);
    continue;
  }
  if (r.code === 'EADDRNOTAVAIL') {
    stoppedBy = 'EADDRNOTAVAIL';
    break;
  }
  process.stdout.write(`${JSON.stringify({ error: r.code, connected: held.length })}\n`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ connected: held.length, stoppedBy, ports: held.map((s) => s.localPort) })}\n`);
for (const s of held) s.destroy();
process.exit(0);
