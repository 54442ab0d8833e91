/**
 * Worker-thread entry for the daemon's sampler: reading /proc/net/tcp with 100 000
 * sockets takes the kernel a few hundred milliseconds of page-sized reads, and
 * parsing it takes more. Doing that here keeps the HTTP server's event loop free,
 * and lets the sampler abandon a sample that hangs (an unresponsive --proc-root)
 * by terminating the thread.
 */
import { parentPort } from 'node:worker_threads';
import { ProcBuffer } from './read/procfs.js';
import { takeSocketSample } from './sample.js';
import type { WorkerReply, WorkerRequest } from './sampler.js';

const port = parentPort;
if (port === null) throw new Error('agent/sockets/worker.js must run as a worker thread');
const buffer = new ProcBuffer();

port.on('message', (req: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    reply = { id: req.id, ok: true, sample: takeSocketSample(req.options, buffer, req.nowMs) };
  } catch (err) {
    reply = { id: req.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  port.postMessage(reply);
});
