/**
 * The status page's script, run in the browser (served by the agent at
 * /assets/web/statusClient.js, with the renderer modules it imports next to it).
 * It makes the copy buttons work and refreshes the page once per sample: it
 * fetches /api/status and renders <main> again with the same renderer the
 * server used. The page works without it.
 *
 * The agent's TypeScript is compiled for Node without the DOM's types; the few
 * browser interfaces used here are declared below.
 */
import type { StatusView } from '../../diagnosis/status.js';
import { renderStatusMain, statusTitle } from '../render/html/page.js';

interface Element {
  innerHTML: string;
  textContent: string | null;
  hidden: boolean;
  className: string;
  dataset: Record<string, string | undefined>;
  closest(selector: string): Element | null;
  querySelectorAll(selector: string): ArrayLike<Element>;
  contains(other: unknown): boolean;
}

interface Browser {
  document: {
    title: string;
    getElementById(id: string): Element | null;
    addEventListener(type: 'click', listener: (event: { target: unknown }) => void): void;
    createRange(): { selectNodeContents(node: Element): void };
    execCommand(command: 'copy'): boolean;
  };
  navigator: { clipboard?: { writeText(text: string): Promise<void> } };
  getSelection(): { isCollapsed: boolean; anchorNode: unknown; removeAllRanges(): void; addRange(range: unknown): void } | null;
  setTimeout(fn: () => void, ms: number): unknown;
}

const w = globalThis as unknown as Browser;
const doc = w.document;

const pad = (n: number): string => String(n).padStart(2, '0');
const hms = (d: Date): string => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;

function showCopyButtons(): void {
  const buttons = doc.getElementById('status')?.querySelectorAll('button.copy') ?? [];
  for (let i = 0; i < buttons.length; i++) buttons[i]!.hidden = false;
}

async function copy(button: Element): Promise<void> {
  const pre = doc.getElementById(button.dataset['copy'] ?? '');
  if (pre === null) return;
  const text = pre.textContent ?? '';
  let done = false;
  try {
    // The clipboard API needs a secure context (TLS, or localhost).
    if (w.navigator.clipboard !== undefined) {
      await w.navigator.clipboard.writeText(text);
      done = true;
    }
  } catch {
    done = false;
  }
  if (!done) {
    const selection = w.getSelection();
    const range = doc.createRange();
    range.selectNodeContents(pre);
    selection?.removeAllRanges();
    selection?.addRange(range);
    done = doc.execCommand('copy');
  }
  button.textContent = done ? 'Copied' : 'Selected: press Ctrl+C';
  w.setTimeout(() => {
    button.textContent = 'Copy';
  }, 2000);
}

function say(text: string, failed: boolean): void {
  const el = doc.getElementById('refresh-state');
  if (el === null) return;
  el.textContent = text;
  el.className = failed ? 'meta failed' : 'meta';
}

/** A selection inside <main> (someone copying a fix by hand) holds the refresh until it is gone. */
function selecting(main: Element): boolean {
  const s = w.getSelection();
  return s !== null && !s.isCollapsed && main.contains(s.anchorNode);
}

async function refresh(main: Element): Promise<void> {
  const res = await fetch('api/status', { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const view = (await res.json()) as StatusView;
  if (view.report.generatedAt !== main.dataset['generatedAt'] && !selecting(main)) {
    main.innerHTML = renderStatusMain(view);
    main.dataset['generatedAt'] = view.report.generatedAt;
    doc.title = statusTitle(view);
    showCopyButtons();
  }
}

function start(): void {
  const main = doc.getElementById('status');
  if (main === null) return;
  showCopyButtons();
  doc.addEventListener('click', (event) => {
    const button = (event.target as Element | null)?.closest('button.copy') ?? null;
    if (button !== null) void copy(button);
  });
  const interval = Math.max(1000, Number(main.dataset['intervalMs'] ?? '5000') || 5000);
  let last = '';
  const tick = (): void => {
    refresh(main)
      .then(() => {
        last = main.dataset['generatedAt'] ?? '';
        say(`Live: refreshed at ${hms(new Date())}, sample of ${hms(new Date(last))}.`, false);
      })
      .catch((err: unknown) => {
        say(`Refresh failed (${err instanceof Error ? err.message : String(err)}): showing the sample of ${hms(new Date(main.dataset['generatedAt'] ?? ''))}.`, true);
      })
      .finally(() => w.setTimeout(tick, interval));
  };
  say('Live: refreshing once per sample.', false);
  w.setTimeout(tick, interval);
}

start();
