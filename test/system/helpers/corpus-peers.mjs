// Upstream peers that fail in the ways the error-log corpus needs, inside a test
// network namespace. Plain ESM, no dependencies.
//
//   node corpus-peers.mjs '{"silent":[{"address":"127.0.0.6","port":9006}],"reset":[{"address":"127.0.0.7","port":9007}]}'
//
// silent: accepts TCP connections and never writes (nginx's read timeout, and its
//   TLS handshake timeout: the ClientHello is never answered).
// reset: accepts, reads the request, then closes with SO_LINGER 0, which sends an
//   RST (nginx: "recv() failed (104: Connection reset by peer)").
// Prints {"event":"ready"} once every listener is bound; exits on SIGTERM or
// when stdin closes.
import net from 'node:net';

const spec = JSON.parse(process.argv[2] ?? '{}');
const servers = [];
const sockets = new Set();

function listen(server, { address, port }) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port, backlog: 512 }, () => resolve());
  });
}

function track(socket) {
  sockets.add(socket);
  socket.on('error', () => undefined);
  socket.once('close', () => sockets.delete(socket));
}

for (const at of spec.silent ?? []) {
  const server = net.createServer((socket) => {
    track(socket);
    socket.resume(); // read and drop: never answer
  });
  servers.push(listen(server, at).then(() => server));
}
for (const at of spec.reset ?? []) {
  const server = net.createServer((socket) => {
    track(socket);
    socket.once('data', () => socket.resetAndDestroy());
  });
  servers.push(listen(server, at).then(() => server));
}

const ready = await Promise.all(servers);
process.stdout.write(`${JSON.stringify({ event: 'ready', listeners: ready.length })}\n`);

function stop() {
  for (const s of sockets) s.destroy();
  for (const s of ready) s.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
