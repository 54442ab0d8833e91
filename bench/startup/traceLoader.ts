/** The loader half of traceHooks.ts: one line per ES module loaded (or built-in imported). */
import { appendFileSync } from 'node:fs';

interface LoadContext {
  format?: string | null | undefined;
}
type NextLoad = (url: string, context: LoadContext) => Promise<unknown>;

const file = process.env['BENCH_TRACE_FILE'];

export async function load(url: string, context: LoadContext, next: NextLoad): Promise<unknown> {
  if (file !== undefined) appendFileSync(file, `${url}\n`);
  return next(url, context);
}
