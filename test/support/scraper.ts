/**
 * A scraper that polls one URL at a steady pace for as long as a test runs and
 * records every answer (status, latency, whether the body was whole), tagged with
 * the phase of the test it was sent in.
 */
import { performance } from 'node:perf_hooks';

export interface Scrape {
  phase: string;
  /** performance.now() when the request was sent. */
  sentMs: number;
  latencyMs: number;
  /** HTTP status, or null when the request failed (the error says how). */
  status: number | null;
  error: string | null;
  retryAfter: string | null;
  body: string;
}

/** Per-request limit: far above any pause a test inflicts, so a slow answer is measured rather than cut off. */
const REQUEST_TIMEOUT_MS = 20_000;

export async function timedGet(url: string, phase: string): Promise<Scrape> {
  const sentMs = performance.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const body = await res.text();
    return { phase, sentMs, latencyMs: performance.now() - sentMs, status: res.status, error: null, retryAfter: res.headers.get('retry-after'), body };
  } catch (err) {
    return { phase, sentMs, latencyMs: performance.now() - sentMs, status: null, error: (err as Error).message, retryAfter: null, body: '' };
  }
}

export class Scraper {
  /** Tags the scrapes sent from now on. */
  phase = 'start';
  readonly scrapes: Scrape[] = [];
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly url: string,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const s = await timedGet(this.url, this.phase);
        // Only the body's verdict is kept: a /metrics body is tens of kB.
        this.scrapes.push({ ...s, body: s.body.includes('nginx_port_build_info') ? 'whole' : s.body.slice(0, 200) });
        const wait = this.intervalMs - s.latencyMs;
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** The q-quantile (0–1) of the values, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
