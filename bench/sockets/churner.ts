/**
 * TIME_WAIT churner for the benchmark: runs inside the benchmark's network namespace
 * (`ip netns exec NS node dist/bench/sockets/churner.js '<json>'`) and keeps the
 * namespace's TIME_WAIT count at a target while the measurements run.
 *
 * A TIME_WAIT socket lasts TCP_TIMEWAIT_LEN, 60 s (include/net/tcp.h), so a fixed
 * batch melts away during a long phase (the old benchmark drifted from 456 k to
 * 223 k sockets in one phase). The churner closes the loop on the kernel's own
 * count instead: every tick it reads `tw` from /proc/net/sockstat (the namespace's
 * TIME_WAIT sockets, both families) and opens connections to its own listeners for
 * its `share` of the deficit, each closed by the client first so the client end
 * goes to TIME_WAIT, as an nginx upstream connection closed by nginx does.
 *
 * The rate is capped by a token bucket on elapsed time: `fillRatePerSecond × share`
 * while a new target is filling (from the `target` command until the count first
 * reaches it, or for at most TIME_WAIT's 60 s: past that the fill's own sockets
 * expire as fast as it makes them), `refillRatePerSecond × share` from then on,
 * however far the count falls behind. The fill runs at its slow rate all the way:
 * when it handed over to the fast rate 5% short of the target, the churners made
 * that last 5% within a second or two, those sockets expired together 60 s later,
 * and the count fell 4.4–5.5% under its target then (two 500 k runs of
 * 2026-12-07: a lowest point 59.7 s after the size settled, and one in the phase
 * that began 60.2 s after it). (Deciding by
 * the gap alone put a count that had sagged more than 5% back on the fill rate,
 * barely above the rate the sockets expire at, so it could not climb back: 13%
 * under target at 50 k for a whole phase.)
 * Sockets expire 60 s after they were made, at the rate they were made: filled at
 * about the steady rate, they expire evenly, and a refill cap well above it leaves
 * room to catch up after a lag. (With one fast rate for both, the sockets made
 * while filling expired as a wave that a busy machine did not refill in time, and
 * the count sagged 13–16%.)
 * 250 k TIME_WAIT need ~4 200 connections a second, about half a core here. Its
 * main thread runs at nice -5: on 2 cores the measured process and `ss` take a core
 * each, and the sockets made 60 s earlier expire whether or not the churner gets
 * the CPU to replace them. The priority changes when it gets the CPU, not how much
 * it uses (reported per phase).
 *
 * The count it holds is a sawtooth, not a line: the kernel's TIME_WAIT timers (60 s)
 * sit on the timer wheel level whose granularity is 2.048 s at HZ=250
 * (kernel/time/timer.c), so every 2.048 s the sockets made during 2 s expire at
 * once, ~3.4% of the count at the steady rate, and the next ticks refill them.
 * The benchmark gives it a target half a tooth above the one it measures against
 * (config.ts, churnAim), so the tooth straddles that.
 *
 * Talks JSON lines: stdin takes {cmd:'target', timeWait, fillRatePerSecond,
 * refillRatePerSecond},
 * {cmd:'stats'} (answers {type:'stats', tw, twMin, twMax, made, cpuMs, ...} for the
 * window since the last stats, then starts a new window) and {cmd:'exit'}; it exits
 * when stdin closes.
 */
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { setPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

interface ChurnerConfig {
  index: number;
  addresses: string[];
  ports: number[];
  share: number;
  concurrency: number;
  tickMs: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as ChurnerConfig;
const targets: { host: string; port: number }[] = [];
for (const host of config.addresses) for (const port of config.ports) targets.push({ host, port });

/** Tokens held back at most: this many seconds of the rate. */
const BURST_SECONDS = 0.2;

let targetTw = 0;
let fillRate = 0;
let refillRate = 0;
let filling = false;
let fillStartedAt = 0;
/** TCP_TIMEWAIT_LEN (include/net/tcp.h): how long a fill can run before its first sockets expire. */
const TIME_WAIT_MS = 60_000;
let tokens = 0;
let lastTickAt = performance.now();
/** Handshakes in flight: connect() called, 'connect' not yet seen. Capped at `concurrency`. */
let connecting = 0;
/**
 * Connections the client has closed whose server end has not closed yet, by
 * `targetIndex × 65536 + client port`, with when connect() was called. The client
 * end reaches TIME_WAIT only when the server's FIN arrives, so these are on their
 * way and count against the deficit (or the churner would overshoot).
 */
const closing = new Map<number, number>();
/** A closing entry older than this lost its server end (it never arrived or never closed): dropped and counted. */
const CLOSING_LOST_MS = 10_000;
let lost = 0;
let made = 0;
let failed = 0;
let lastFailure = '';
let next = 0;
let tw = 0;
const win = {
  twMin: Infinity,
  twMax: -Infinity,
  /** Seconds into the window of the lowest count, and what was on its way then. */
  twMinAtS: 0,
  twMinConnecting: 0,
  twMinClosing: 0,
  /** The longest gap between two ticks: how long the churner went without the CPU or its event loop. */
  tickGapMaxMs: 0,
  made: 0,
  lifeMs: 0,
  lifeMaxMs: 0,
  startedAt: performance.now(),
  cpu: process.cpuUsage(),
};

function send(msg: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ index: config.index, ...msg })}\n`);
}

function noop(): void {
  /* a failed churn connection is counted, not fatal: the next tick makes it up */
}

/** `TCP: inuse 5 orphan 0 tw 113 alloc 10 mem 1` (net/ipv4/proc.c, sockstat_seq_show). */
function readTimeWait(): number {
  const m = /^TCP: .*\btw (\d+)/m.exec(readFileSync('/proc/net/sockstat', 'latin1'));
  return m?.[1] === undefined ? 0 : Number(m[1]);
}

function churnOne(): void {
  const index = next++ % targets.length;
  const t = targets[index]!;
  connecting++;
  const born = performance.now();
  let connected = false;
  const s: Socket = connect({ host: t.host, port: t.port });
  s.on('error', (err) => {
    failed++;
    lastFailure = err.message;
  });
  s.once('connect', () => {
    connected = true;
    connecting--;
    // close(2) at once: nothing was received, so the kernel sends a FIN, not a RST
    // (net/ipv4/tcp.c, __tcp_close: a RST only when received data is unread), and
    // finishes the close without this process: the orphaned end waits for the
    // server's FIN (in FIN_WAIT2, or already as a timewait socket in that
    // substate, which sockstat counts as tw) and then is in TIME_WAIT. Waiting
    // for 'close' on a half-closed socket instead kept each connection on the
    // event loop for ~266 ms at 500 k, and with 512 in flight per churner that
    // capped the churn below the rate TIME_WAIT expires at.
    closing.set(index * 65536 + s.localPort!, born);
    s.destroy();
  });
  s.once('close', () => {
    if (!connected) connecting--;
  });
}

/** The server end closed: the client end it served is now in TIME_WAIT. */
function serverClosed(index: number, clientPort: number | undefined): void {
  if (clientPort === undefined) return;
  const key = index * 65536 + clientPort;
  const born = closing.get(key);
  if (born === undefined) return;
  closing.delete(key);
  const life = performance.now() - born;
  made++;
  win.made++;
  win.lifeMs += life;
  win.lifeMaxMs = Math.max(win.lifeMaxMs, life);
}

let lastSweepAt = performance.now();

function tick(): void {
  const now = performance.now();
  if (now - lastSweepAt > 1000) {
    lastSweepAt = now;
    for (const [key, born] of closing) {
      if (now - born > CLOSING_LOST_MS) {
        closing.delete(key);
        lost++;
      }
    }
  }
  tw = readTimeWait();
  if (tw < win.twMin) {
    win.twMin = tw;
    win.twMinAtS = (now - win.startedAt) / 1000;
    win.twMinConnecting = connecting;
    win.twMinClosing = closing.size;
  }
  win.twMax = Math.max(win.twMax, tw);
  win.tickGapMaxMs = Math.max(win.tickGapMaxMs, now - lastTickAt);
  const gap = targetTw - tw;
  if (filling && (gap <= 0 || now - fillStartedAt > TIME_WAIT_MS)) filling = false;
  const rate = (filling ? fillRate : refillRate) * config.share;
  tokens = Math.min(tokens + (rate * (now - lastTickAt)) / 1000, rate * BURST_SECONDS);
  lastTickAt = now;
  const deficit = Math.floor(gap * config.share) - connecting - closing.size;
  const n = Math.min(deficit, Math.floor(tokens), config.concurrency - connecting);
  for (let i = 0; i < n; i++) churnOne();
  if (n > 0) tokens -= n;
}

/** Nice value of the main thread (setpriority(2) with pid 0 is the calling thread on Linux): the thread that connects. */
const NICE = -5;

async function main(): Promise<void> {
  let nice = `nice ${NICE}`;
  try {
    setPriority(0, NICE);
  } catch (err) {
    nice = `default priority (setpriority failed: ${err instanceof Error ? err.message : String(err)})`;
  }
  for (const [index, t] of targets.entries()) {
    // The server end reads to EOF and then closes (allowHalfOpen is off), after the
    // client's FIN: the client closed first, so its end is the one in TIME_WAIT.
    const server = createServer((sock) => {
      const clientPort = sock.remotePort;
      sock.on('error', noop);
      sock.once('close', () => {
        serverClosed(index, clientPort);
      });
      sock.resume();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: t.host, port: t.port, backlog: 4096 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }
  setInterval(tick, config.tickMs);
  send({ type: 'listening', listeners: targets.length, nice });

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const cmd = JSON.parse(line) as { cmd: string; timeWait?: number; fillRatePerSecond?: number; refillRatePerSecond?: number };
    if (cmd.cmd === 'target') {
      targetTw = cmd.timeWait ?? 0;
      filling = true;
      fillStartedAt = performance.now();
      fillRate = cmd.fillRatePerSecond ?? 0;
      refillRate = cmd.refillRatePerSecond ?? 0;
      send({ type: 'target', timeWait: targetTw, fillRatePerSecond: fillRate, refillRatePerSecond: refillRate });
    } else if (cmd.cmd === 'stats') {
      const now = performance.now();
      const cpu = process.cpuUsage(win.cpu);
      tw = readTimeWait();
      send({
        type: 'stats',
        tw,
        twMin: Math.min(win.twMin, tw),
        twMax: Math.max(win.twMax, tw),
        twMinAtS: win.twMinAtS,
        twMinConnecting: win.twMinConnecting,
        twMinClosing: win.twMinClosing,
        tickGapMaxMs: win.tickGapMaxMs,
        seconds: (now - win.startedAt) / 1000,
        made: win.made,
        madeTotal: made,
        failed,
        lastFailure,
        connecting,
        closing: closing.size,
        lost,
        lifeMeanMs: win.made > 0 ? win.lifeMs / win.made : 0,
        lifeMaxMs: win.lifeMaxMs,
        cpuMs: (cpu.user + cpu.system) / 1000,
      });
      Object.assign(win, { twMin: tw, twMax: tw, twMinAtS: 0, twMinConnecting: 0, twMinClosing: 0, tickGapMaxMs: 0, made: 0, lifeMs: 0, lifeMaxMs: 0, startedAt: now, cpu: process.cpuUsage() });
    } else if (cmd.cmd === 'exit') {
      process.exit(0);
    }
  });
  rl.on('close', () => process.exit(0));
}

main().catch((err: unknown) => {
  send({ type: 'error', error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
