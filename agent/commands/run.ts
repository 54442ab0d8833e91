/**
 * `agent run`: the daemon. Samples in a worker thread every sampleIntervalMs,
 * serves the latest sample over HTTP, stops cleanly on SIGTERM/SIGINT.
 */
import { endianness } from 'node:os';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { parseListen, type Config } from '../config.js';
import { agentError } from '../errors.js';
import { AgentMetrics } from '../export/metrics.js';
import { registerErrorLogMetrics } from '../export/errorLogMetrics.js';
import { ErrorLogPipeline } from '../errorlog/pipeline.js';
import { buildServer } from '../export/server.js';
import { loadWebConfig } from '../export/webConfigReader.js';
import { WorkerSampler, type Sampler } from '../sockets/sampler.js';
import { agentVersion } from '../version.js';
import { loadStatusAssets } from '../export/assets.js';
import { systemClock, type Clock } from '../io/clock.js';
import { NginxWatcher } from '../nginxconf/watch.js';
import { DaemonStatus } from './daemonStatus.js';
import { SampleLoop } from './sampleLoop.js';
import { logVersionSource } from './logVersion.js';
import { natTimeWaitThresholdsMs } from '../nat/model/nat.js';

export interface Daemon {
  /** Resolves once the daemon has shut down. */
  done: Promise<void>;
  /** Address the HTTP server listens on. */
  address: string;
  shutdown(reason: string): Promise<void>;
}

export interface DaemonOptions {
  sampler?: Sampler;
  installSignalHandlers?: boolean;
  /** The clock samples, findings and error-log windows are stamped with (the system clock by default). */
  clock?: Clock;
  /** Read the host's facts for the report header, as diagnose does (default true; off in tests that compare reports). */
  hostFacts?: boolean;
}

export async function startDaemon(config: Config, logger: Logger, options: DaemonOptions = {}): Promise<Daemon> {
  const version = agentVersion();
  const clock = options.clock ?? systemClock;
  // First, so a bad web config fails the start before anything else is set up.
  const web = loadWebConfig(config.webConfigFile, logger, clock.now());
  const registry = new Registry();
  const metrics = new AgentMetrics(registry, { maxDestinations: config.maxDestinations, defaultMetrics: true, version, nat: config.nat.length > 0 });
  // The NATs' timers under 60 s: the sampler counts each destination's TIME_WAIT younger than them.
  const natAgesMs = natTimeWaitThresholdsMs(config.nat);
  const sampler =
    options.sampler ??
    new WorkerSampler(
      {
        procRoot: config.procRoot,
        endianness: endianness(),
        rateWindowSeconds: config.rateWindowSeconds,
        ...(natAgesMs.length > 0 ? { timeWaitAgeThresholdsMs: natAgesMs } : {}),
      },
      config.sampleTimeoutMs,
    );
  const errorLogs = new ErrorLogPipeline(config, logger, clock);
  registerErrorLogMetrics(registry, errorLogs.counts, () => errorLogs.totals(), logger.child({ component: 'metrics' }));
  const nginx = new NginxWatcher(config, logger.child({ component: 'nginxconf' }), () => {
    const seen = errorLogs.startupVersion();
    // Only a line seen counts: the daemon reads logs from their end, so no line yet says nothing.
    return seen === null ? null : logVersionSource(seen, errorLogs.status().map((s) => s.path), null);
  }, clock);
  metrics.reportSources(() => [...errorLogs.sources(), ...nginx.sources()]);
  const thresholds = { warningHeadroomRatio: config.warningHeadroomRatio, criticalHeadroomRatio: config.criticalHeadroomRatio };
  const status = new DaemonStatus({ config, thresholds, version, clock, errorLogs, nginx, hostFacts: options.hostFacts !== false });
  const loop = new SampleLoop(sampler, metrics, logger.child({ component: 'sampler' }), {
    intervalMs: config.sampleIntervalMs,
    now: () => clock.now(),
    nat: config.nat,
    onSample: (sample, connectAttemptsPerSecond, nat) => {
      const report = status.onSample(sample, connectAttemptsPerSecond, nat);
      if (report !== null) metrics.setFindings(report.findings);
    },
  });
  const { assets, missing } = loadStatusAssets();
  if (missing.length > 0) logger.warn({ missing }, 'the status page script is missing from the build: the page at / will not refresh itself');
  const server = buildServer({
    registry,
    generation: () => metrics.generation,
    clock,
    findings: () => status.findings(),
    status: () => status.view(),
    assets,
    logger,
    web,
    version,
    state: {
      ready: () => loop.samplesOk > 0,
      notReadyReason: () => 'no socket sample has completed yet',
    },
  });

  const { host, port } = parseListen(config.listen);
  let address: string;
  try {
    address = await server.listen({ host, port });
  } catch (err) {
    await sampler.close();
    throw agentError('AGENT_ERR_LISTEN', 'listen', { address: config.listen, reason: (err as Error).message }, { cause: err });
  }
  logger.info(
    { listen: address, procRoot: config.procRoot, sampleIntervalMs: config.sampleIntervalMs, version },
    `nginx-port-agent ${version} listening on ${address}`,
  );
  // The config is read before the first sample so the first findings can use it.
  await nginx.start();
  loop.start();
  await errorLogs.start();

  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  let shuttingDown: Promise<void> | null = null;
  const shutdown = (reason: string): Promise<void> => {
    shuttingDown ??= (async () => {
      logger.info({ reason }, 'shutting down');
      await loop.stop();
      await errorLogs.stop();
      await nginx.stop();
      await server.close();
      await sampler.close();
      logger.info('stopped');
      resolveDone();
    })();
    return shuttingDown;
  };
  if (options.installSignalHandlers !== false) {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.once(sig, () => {
        void shutdown(sig);
      });
    }
    // SIGHUP, as for nginx itself: re-read nginx's config now (Node would otherwise exit).
    process.on('SIGHUP', () => {
      logger.info('SIGHUP: re-reading the nginx config');
      void nginx.reloadNow();
    });
  }
  return { done, address, shutdown };
}
