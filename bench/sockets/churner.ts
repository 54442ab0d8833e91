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
 * comes within FILL_GAP of it), `refillRatePerSecond × share` from then on, however
 * far the count falls behind. (Deciding by the gap alone put a count that had sagged
 * more than 5% back on the fill rate, barely above the rate the sockets expire at,
 * so it could not climb back: 13% under target at 50 k for a whole phase.)
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

/** A new target is filled until the count first comes within FILL_GAP × target of it. */
const FILL_GAP = 0.05;
/** Tokens held back at most: this many seconds of the rate. */
const BURST_SECONDS = 0.2;

let targetTw = 0;
let fillRate = 0;
let refillRate = 0;
let filling = false;
let tokens = 0;
let lastTickAt = performance.now();
let inflight = 0;
let made = 0;
let failed = 0;
let lastFailure = '';
let next = 0;
let tw = 0;
const win = { twMin: Infinity, twMax: -Infinity, made: 0, lifeMs: 0, lifeMaxMs: 0, startedAt: performance.now(), cpu: process.cpuUsage() };

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
  const t = targets[next++ % targets.length]!;
  inflight++;
  const born = performance.now();
  const s: Socket = connect({ host: t.host, port: t.port });
  s.once('connect', () => {
    s.end();
  });
  s.on('error', (err) => {
    failed++;
    lastFailure = err.message;
  });
  s.once('close', (hadError) => {
    inflight--;
    if (!hadError) {
      const life = performance.now() - born;
      made++;
      win.made++;
      win.lifeMs += life;
      win.lifeMaxMs = Math.max(win.lifeMaxMs, life);
    }
  });
}

function tick(): void {
  const now = performance.now();
  tw = readTimeWait();
  win.twMin = Math.min(win.twMin, tw);
  win.twMax = Math.max(win.twMax, tw);
  const gap = targetTw - tw;
  if (filling && gap <= targetTw * FILL_GAP) filling = false;
  const rate = (filling ? fillRate : refillRate) * config.share;
  tokens = Math.min(tokens + (rate * (now - lastTickAt)) / 1000, rate * BURST_SECONDS);
  lastTickAt = now;
  const deficit = Math.floor(gap * config.share) - inflight;
  const n = Math.min(deficit, Math.floor(tokens), config.concurrency - inflight);
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
  for (const t of targets) {
    // The server end reads to EOF and then closes (allowHalfOpen is off), after the
    // client's FIN: the client closed first, so its end is the one in TIME_WAIT.
    const server = createServer((sock) => {
      sock.on('error', noop);
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
        seconds: (now - win.startedAt) / 1000,
        made: win.made,
        madeTotal: made,
        failed,
        lastFailure,
        inflight,
        lifeMeanMs: win.made > 0 ? win.lifeMs / win.made : 0,
        lifeMaxMs: win.lifeMaxMs,
        cpuMs: (cpu.user + cpu.system) / 1000,
      });
      Object.assign(win, { twMin: tw, twMax: tw, made: 0, lifeMs: 0, lifeMaxMs: 0, startedAt: now, cpu: process.cpuUsage() });
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
