import { pino, type Bindings, type ChildLoggerOptions, type Logger } from 'pino';
import type { LogLevel } from './config.js';
import { escapeControl, escapeControlKeepNewlines, escapeLogValue } from './core/logEscape.js';

/** pino's error serializer, then the same escaping as every other field (a stack keeps its line breaks). */
function escapedError(err: Error): unknown {
  const s = pino.stdSerializers.err(err) as unknown;
  if (s === null || typeof s !== 'object') return s;
  const { stack, ...rest } = s as Record<string, unknown>;
  return { ...(escapeLogValue(rest) as Record<string, unknown>), ...(typeof stack === 'string' ? { stack: escapeControlKeepNewlines(stack) } : {}) };
}

/**
 * The root logger: JSON lines on stderr, so stdout stays for reports. Components take a child.
 * Control characters in any logged string are escaped (logEscape.ts): file names
 * and log text from outside never reach a terminal raw.
 */
export function createLogger(level: LogLevel, destination: NodeJS.WritableStream | number = 2): Logger {
  const dest = typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
  const root = pino(
    {
      name: 'nginx-port-agent',
      level,
      base: { pid: process.pid },
      serializers: { err: escapedError },
      formatters: {
        bindings: (bindings) => escapeLogValue(bindings) as Record<string, unknown>,
        log: (object) => escapeLogValue(object) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          // The message and any printf-style arguments.
          const escaped = args.map((a: unknown) => (typeof a === 'string' ? escapeControl(a) : a));
          method.apply(this, escaped as Parameters<typeof method>);
        },
      },
    },
    dest,
  );
  // pino does not run the bindings formatter for children; escape their bindings on
  // the way in. Children inherit from their parent, so this covers every level.
  type Child = (this: unknown, bindings: Bindings, options?: ChildLoggerOptions) => Logger;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the logger it was read from as `this`
  const child = root.child as unknown as Child;
  root.child = function (this: unknown, bindings: Bindings, options?: ChildLoggerOptions) {
    return child.call(this, escapeLogValue(bindings) as Bindings, options);
  } as unknown as typeof root.child;
  return root;
}
