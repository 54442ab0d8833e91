// HTTP GETs on request, from inside a test network namespace, over keep-alive
// connections. Plain ESM, no dependencies.
//
//   node fetch.mjs '{}'
//
// Prints {"event":"ready"}, then for each line {"url":"http://…"} on stdin prints
// {"event":"response","status":200,"body":"…"} (or {"event":"error","message":…}).
//
// Why keep-alive: the test namespaces have a 100-port ephemeral range and
// tcp_tw_reuse=0. A new connection per scrape (curl in a loop) would leave one
// client-side TIME_WAIT socket per scrape, and after 100 scrapes within 60 s the
// kernel would have no port left towards the agent's own address.
import http from 'node:http';
import { createInterface } from 'node:readline';

const REQUEST_TIMEOUT_MS = 5_000;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function get(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ event: 'response', status: res.statusCode, body }));
      res.on('error', (err) => resolve({ event: 'error', message: `${url}: ${err.message}` }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', (err) => resolve({ event: 'error', message: `${url}: ${err.message}` }));
  });
}

const write = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);

// One request at a time, answered in order.
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  queue = queue.then(async () => {
    let url;
    try {
      url = JSON.parse(line).url;
    } catch {
      url = undefined;
    }
    write(typeof url === 'string' ? await get(url) : { event: 'error', message: `bad command ${line}` });
  });
});
process.stdin.on('end', () => {
  void queue.then(() => {
    agent.destroy();
  });
});
write({ event: 'ready' });
