import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

/** The root logger: JSON lines on stderr, so stdout stays for reports. Components take a child. */
export function createLogger(level: LogLevel, destination: NodeJS.WritableStream | number = 2): Logger {
  const dest = typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
  return pino({ name: 'nginx-port-agent', level, base: { pid: process.pid } }, dest);
}
