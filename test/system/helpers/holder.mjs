// Socket holder for the real-system tests. Runs inside a test network namespace
// (`ip netns exec NS node holder.mjs SPEC`), plain ESM, no dependencies.
//
// SPEC (argv[2], JSON): { "listeners": [{ "address": "127.0.0.2", "port": 9000 }, ...],
//                         "batches":   [Batch, ...] }
// Batch: { "host": "127.0.0.2", "port": 9000, "count": 60,
//          "mode": "time_wait" | "established" | "fin_wait2",
//          "localAddress": "::1"   (optional: bind() before connect(); see below) }
//
// It opens the listeners, runs the batches in order, prints one JSON line per
// batch ({"event":"batch",...}) and then {"event":"ready",...}. After that every
// line on stdin is one more command, a Batch or {"listeners":[...]}, answered by
// one JSON line; so the test can space batches out in time (the TIME_WAIT reuse
// case). It keeps every socket it opened until SIGTERM or stdin closes.
//
// mode "time_wait": the client closes first (end()), the server side answers the
// FIN with its own (allowHalfOpen is false), and the batch waits for both 'close'
// events, so each client socket is in TIME_WAIT when the batch reports; the
// server side goes LAST_ACK → CLOSED and holds nothing.
// mode "established": both ends are kept open.
// mode "fin_wait2": the client closes its descriptor (an orphan) and the server
// side never answers the FIN (it stays in CLOSE_WAIT), so the kernel keeps the
// client as a timewait socket in substate FIN_WAIT2 for tcp_fin_timeout. The
// batch returns once the server has seen every FIN; the test polls `ss` for the
// client state.
//
// localAddress makes libuv bind() the client socket before connect(): the port is
// then chosen by inet_csk_get_port() and held by a bind bucket that connect()
// skips for every destination. Leave it out to get plain connect()-chosen ports
// (the source address then comes from the route: 127.0.0.1 for 127/8, ::1 for ::1).
import net from 'node:net';
import { createInterface } from 'node:readline';

const CONNECT_TIMEOUT_MS = 10_000;

/** Accepted server-side sockets by the client's endpoint, so a batch can wait for both ends. */
const accepted = new Map();
const acceptWaiters = new Map();
const servers = [];
const clients = [];

function endpointKey(address, port) {
  return `${address}|${port}`;
}

function out(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function fail(message) {
  out({ event: 'error', message });
  process.exit(1);
}

function onAccepted(sock) {
  const key = endpointKey(sock.remoteAddress, sock.remotePort);
  const closed = new Promise((resolve) => sock.once('close', resolve));
  sock.on('error', () => undefined); // a reset after the test is done is not our concern
  const entry = { sock, closed, hold: false, ended: null };
  entry.ended = new Promise((resolve) => {
    sock.once('end', () => {
      // Servers are half-open capable so "fin_wait2" can leave the FIN unanswered;
      // everything else answers the client's FIN with ours.
      if (!entry.hold) sock.end();
      resolve();
    });
  });
  accepted.set(key, entry);
  const waiter = acceptWaiters.get(key);
  if (waiter !== undefined) {
    acceptWaiters.delete(key);
    waiter(entry);
  }
}

function waitAccepted(key) {
  const entry = accepted.get(key);
  if (entry !== undefined) return Promise.resolve(entry);
  return new Promise((resolve) => acceptWaiters.set(key, resolve));
}

function listen({ address, port }) {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ allowHalfOpen: true }, onAccepted);
    server.once('error', reject);
    server.listen({ host: address, port, backlog: 4096, exclusive: true }, () => {
      servers.push(server);
      const a = server.address();
      resolve({ address: a.address, port: a.port });
    });
  });
}

function connectOne(batch) {
  return new Promise((resolve, reject) => {
    const opts = { host: batch.host, port: batch.port };
    if (batch.localAddress !== undefined) opts.localAddress = batch.localAddress;
    const sock = net.connect(opts);
    const timer = setTimeout(() => reject(new Error(`connect to ${batch.host}:${batch.port} timed out`)), CONNECT_TIMEOUT_MS);
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`connect to ${batch.host}:${batch.port} failed: ${err.code ?? err.message}`));
    });
    sock.once('connect', () => {
      clearTimeout(timer);
      resolve(sock);
    });
  });
}

async function runBatch(batch) {
  const started = Date.now();
  const socks = await Promise.all(Array.from({ length: batch.count }, () => connectOne(batch)));
  const ports = socks.map((s) => s.localPort);
  const localAddresses = [...new Set(socks.map((s) => s.localAddress))];
  // Our own listener must have accepted each connection before we close or hold it.
  const ends = await Promise.all(socks.map((s) => waitAccepted(endpointKey(s.localAddress, s.localPort))));
  if (batch.mode === 'time_wait') {
    await Promise.all(
      socks.map((s, i) => {
        const clientClosed = new Promise((resolve) => s.once('close', resolve));
        s.end(); // client FIN first: the client side is the one left in TIME_WAIT
        return Promise.all([clientClosed, ends[i].closed]);
      }),
    );
    for (const s of socks) accepted.delete(endpointKey(s.localAddress, s.localPort));
  } else if (batch.mode === 'fin_wait2') {
    for (const e of ends) e.hold = true;
    for (const s of socks) s.destroy(); // close(): FIN from an orphaned socket
    await Promise.all(ends.map((e) => e.ended));
  } else if (batch.mode === 'established') {
    for (const s of socks) {
      s.on('error', () => undefined);
      clients.push(s);
    }
  } else {
    throw new Error(`unknown mode ${String(batch.mode)}`);
  }
  return {
    event: 'batch',
    host: batch.host,
    port: batch.port,
    mode: batch.mode,
    count: socks.length,
    localAddresses,
    ports,
    startedAtMs: started,
    doneAtMs: Date.now(),
  };
}

async function runCommand(cmd) {
  if (Array.isArray(cmd.listeners)) {
    const opened = [];
    for (const l of cmd.listeners) opened.push(await listen(l));
    return { event: 'listening', listeners: opened };
  }
  return runBatch(cmd);
}

function shutdown() {
  for (const s of clients) s.destroy();
  for (const { sock } of accepted.values()) sock.destroy();
  for (const srv of servers) srv.close();
  process.exit(0);
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

let spec;
try {
  spec = JSON.parse(process.argv[2] ?? '{}');
} catch (err) {
  fail(`bad spec: ${err.message}`);
}

try {
  const listeners = [];
  for (const l of spec.listeners ?? []) listeners.push(await listen(l));
  const batches = [];
  for (const b of spec.batches ?? []) {
    const r = await runBatch(b);
    batches.push(r);
    out(r);
  }
  out({ event: 'ready', pid: process.pid, listeners, batches });
} catch (err) {
  fail(err.message);
}

// Further commands, one JSON line each, in order. stdin closing ends the holder.
let queue = Promise.resolve();
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line.trim() === '') return;
  queue = queue.then(async () => {
    try {
      out(await runCommand(JSON.parse(line)));
    } catch (err) {
      fail(err.message);
    }
  });
});
rl.on('close', () => {
  void queue.then(shutdown);
});
