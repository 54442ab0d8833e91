// A slow HTTP upstream for the real-system tests: it holds every response for a
// fixed time, so concurrency (request rate × response time) rather than
// connection churn is what fills the ephemeral-port range of the proxy in front
// of it. Runs inside a test network namespace; plain ESM, no dependencies.
//
//   node slow-upstream.mjs '{"listen":[{"address":"10.77.2.2","port":9000}],"holdMs":2000,"mode":"close"}'
//
// Prints {"event":"ready","listen":[…]} once every listener is bound, then
// {"event":"stats","requests":N,"open":M} for every line read on stdin, and
// exits on SIGTERM or when stdin closes.
//
// The side that sends the first FIN ends in TIME_WAIT (RFC 9293, 3.6), so each
// mode decides where TIME_WAIT lands:
//
// mode "keepalive": HTTP/1.1 keep-alive (node:http). keepAliveTimeout is set to
//   Node's default, 5 s, explicitly: an idle connection is closed by this side
//   first, so its TIME_WAIT socket stays here. nginx's upstream
//   `keepalive_timeout` (60 s by default) is longer, so nginx never closes an
//   idle pooled connection before this server does.
// mode "close": one request per connection, as servers without keep-alive
//   answer. The answer has no Content-Length and the body ends when this side
//   closes, so the proxy can only close after it has read this side's FIN: every
//   TIME_WAIT socket stays here and the proxy's port is free as soon as the
//   connection is gone. (With a Content-Length the proxy may close first, in a
//   race with this side's FIN, and keep TIME_WAIT itself.)
import http from 'node:http';
import net from 'node:net';
import { createInterface } from 'node:readline';

const spec = JSON.parse(process.argv[2] ?? '{}');
const holdMs = Number(spec.holdMs ?? 2000);
const mode = spec.mode === 'close' ? 'close' : 'keepalive';
const listen = Array.isArray(spec.listen) ? spec.listen : [];
const write = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);

let requests = 0;
let open = 0;
const servers = [];
const sockets = new Set();

function track(sock) {
  open++;
  sockets.add(sock);
  sock.once('close', () => {
    open--;
    sockets.delete(sock);
  });
}

function keepAliveServer() {
  const server = http.createServer((_req, res) => {
    requests++;
    const timer = setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
      res.end('slow\n');
    }, holdMs);
    res.on('close', () => clearTimeout(timer));
  });
  server.keepAliveTimeout = 5_000;
  // Node requires headersTimeout above keepAliveTimeout; requestTimeout bounds a stuck request.
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  server.on('connection', track);
  return server;
}

function closeServer() {
  return net.createServer((sock) => {
    track(sock);
    sock.on('error', () => undefined);
    let head = '';
    let timer;
    sock.on('data', (d) => {
      if (timer !== undefined) return;
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      requests++;
      timer = setTimeout(() => {
        sock.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nslow\n');
      }, holdMs);
    });
    sock.once('close', () => clearTimeout(timer));
  });
}

function start({ address, port }) {
  return new Promise((resolve, reject) => {
    const server = mode === 'close' ? closeServer() : keepAliveServer();
    server.once('error', reject);
    server.listen({ host: address, port, backlog: 4096 }, () => {
      servers.push(server);
      resolve({ address, port });
    });
  });
}

try {
  const bound = await Promise.all(listen.map(start));
  write({ event: 'ready', listen: bound, holdMs, mode });
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
  .on('line', () => write({ event: 'stats', requests, open }))
  .on('close', stop);
