/**
 * The socket sampler against the real /proc of the current network namespace, no
 * root needed: a listener on 127.0.0.1 (port 0, so the kernel draws it from the
 * ephemeral range), 5 connections held ESTABLISHED and 7 closed client-first (so
 * the client ends in TIME_WAIT). The destination's row must count exactly those,
 * and the listener's own port must come out of the usable range.
 */
import { once } from 'node:events';
import net from 'node:net';
import { endianness } from 'node:os';
import { afterAll, expect, it } from 'vitest';
import { takeSocketSample } from '../../agent/sockets/sample.js';
import { ProcBuffer } from '../../agent/sockets/read/procfs.js';
import { describeWith } from '../support/gate.js';

const ESTABLISHED = 5;
const TIME_WAIT = 7;

describeWith(['linux'], 'socket sample on the real loopback', () => {
  const open: net.Socket[] = [];
  let server: net.Server | undefined;

  afterAll(async () => {
    for (const s of open) s.destroy();
    if (server !== undefined) {
      server.close();
      await once(server, 'close');
    }
  });

  /** Connects and waits until the server side has accepted this connection. */
  async function connectPair(srv: net.Server, port: number, accepted: Map<number, net.Socket>): Promise<{ client: net.Socket; peer: net.Socket }> {
    const client = net.connect({ host: '127.0.0.1', port });
    await once(client, 'connect');
    const key = client.localPort!;
    let peer = accepted.get(key);
    while (peer === undefined) {
      await once(srv, 'connection');
      peer = accepted.get(key);
    }
    return { client, peer };
  }

  it('counts 5 ESTABLISHED and 7 TIME_WAIT towards 127.0.0.1:<listener>', async () => {
    const accepted = new Map<number, net.Socket>();
    const srv = net.createServer((sock) => {
      sock.on('error', () => undefined);
      accepted.set(sock.remotePort!, sock);
      open.push(sock);
    });
    server = srv;
    srv.listen({ host: '127.0.0.1', port: 0 });
    await once(srv, 'listening');
    const port = (srv.address() as net.AddressInfo).port;

    for (let i = 0; i < ESTABLISHED; i++) {
      const { client } = await connectPair(srv, port, accepted);
      client.on('error', () => undefined);
      open.push(client);
    }
    for (let i = 0; i < TIME_WAIT; i++) {
      const { client, peer } = await connectPair(srv, port, accepted);
      // Client FIN first; the server side answers with its own FIN (allowHalfOpen
      // is false). Both 'close' events: the client socket is now in TIME_WAIT.
      const closed = Promise.all([once(client, 'close'), once(peer, 'close')]);
      client.end();
      await closed;
    }

    const sample = takeSocketSample({ procRoot: '/proc', endianness: endianness(), rateWindowSeconds: 60 }, new ProcBuffer(), Date.now());
    const h = sample.headroom!;
    expect(h).not.toBeNull();
    const row = h.destinations.find((d) => d.sourceIp === '127.0.0.1' && d.destination === `127.0.0.1:${port}`);
    expect(row, `row for 127.0.0.1 -> 127.0.0.1:${port}`).toBeDefined();
    expect(row).toMatchObject({ established: ESTABLISHED, timeWait: TIME_WAIT, other: 0, capacity: h.portRange.usable });

    // bind(port 0) draws from ip_local_port_range, so the listener's port is
    // normally in it, and then it is lost to connect() for every destination.
    const settings = sample.settings!;
    expect(h.listenerPorts).toContain(port);
    const inRange = port >= settings.portRange.low && port <= settings.portRange.high;
    const reserved = settings.reservedPorts.some((s) => port >= s.from && port <= s.to);
    if (inRange && !reserved) expect(h.portRange.listenersInRange).toBeGreaterThanOrEqual(1);
    expect(h.portRange.usable).toBe(h.portRange.size - h.portRange.reserved - h.portRange.listenersInRange);
    // With the usual reuse settings these TIME_WAIT sockets are at most a second or
    // two old; whatever the host's tcp_tw_reuse, used + reusable adds up.
    expect(row!.used + row!.timeWaitReusable).toBe(ESTABLISHED + TIME_WAIT);
    console.info(
      `[loopback] 127.0.0.1:${port} (listener ${inRange ? 'in' : 'outside'} range ${settings.portRange.low}-${settings.portRange.high}): ` +
        `established ${row!.established}, timeWait ${row!.timeWait}, capacity ${row!.capacity}, usable ${h.portRange.usable}, listenersInRange ${h.portRange.listenersInRange}`,
    );
  });
});
