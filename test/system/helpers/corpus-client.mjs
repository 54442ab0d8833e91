// The client side of the error-log corpus: requests to nginx from inside a test
// network namespace, in the order given, each step's requests at once. Plain ESM,
// no dependencies.
//
//   node corpus-client.mjs '{"steps":[[{"http":"http://127.0.0.1:8001/"}],[{"tcp":{"host":"127.0.0.1","port":7001}},{"udp":{"host":"127.0.0.1","port":7002}}]]}'
//
// http: a GET (a new connection each), waited for up to timeoutMs; tcp: connect,
// send a line, wait for the close; udp: one datagram, wait a little for an answer.
// Prints {"event":"done","results":[…]} with each request's status or error.
//
// Every client socket binds a port of its own from firstLocalPort up, outside the
// ephemeral range the test narrows for nginx's upstream connections: the client
// must not use up the ports it means nginx to run out of.
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';

const spec = JSON.parse(process.argv[2] ?? '{}');
const TIMEOUT_MS = Number(spec.timeoutMs ?? 8000);
let nextPort = Number(spec.firstLocalPort ?? 50000);
const localPort = () => nextPort++;

function get(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: TIMEOUT_MS, localPort: localPort() }, (res) => {
      res.resume();
      res.on('end', () => resolve({ url, status: res.statusCode }));
      res.on('error', (err) => resolve({ url, error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ url, error: err.message }));
  });
}

function tcp({ host, port }) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, localPort: localPort() }, () => socket.write('hello\n'));
    const timer = setTimeout(() => socket.destroy(), TIMEOUT_MS);
    socket.on('data', () => undefined);
    socket.on('error', (err) => {
      clearTimeout(timer);
      resolve({ tcp: `${host}:${port}`, error: err.message });
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ tcp: `${host}:${port}`, closed: true });
    });
  });
}

function udp({ host, port }) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const done = (r) => {
      socket.close();
      resolve({ udp: `${host}:${port}`, ...r });
    };
    const timer = setTimeout(() => done({ answered: false }), Math.min(TIMEOUT_MS, 3000));
    socket.on('message', () => {
      clearTimeout(timer);
      done({ answered: true });
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      done({ error: err.message });
    });
    socket.bind(localPort(), '127.0.0.1', () => socket.send('hello', port, host));
  });
}

const results = [];
for (const step of spec.steps ?? []) {
  results.push(...(await Promise.all(step.map((r) => (r.http !== undefined ? get(r.http) : r.tcp !== undefined ? tcp(r.tcp) : udp(r.udp))))));
  if (spec.pauseMs) await new Promise((r) => setTimeout(r, spec.pauseMs));
}
process.stdout.write(`${JSON.stringify({ event: 'done', results })}\n`);
