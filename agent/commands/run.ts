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
import { assess } from '../diagnosis/diagnosis.js';
import type { FindingsView } from '../export/server.js';
import { hostContext } from '../host/context.js';
import { systemClock, type Clock } from '../io/clock.js';
import { NginxWatcher } from '../nginxconf/watch.js';
import { SampleLoop } from './sampleLoop.js';
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
}

/** Destinations mapped to nginx upstreams per sample, least headroom first. */
const MAX_MAPPED_DESTINATIONS = 1000;
/** The same for each NAT, largest share first. */
const MAX_MAPPED_NAT_DESTINATIONS = 100;

export async function startDaemon(config: Config, logger: Logger, options: DaemonOptions = {}): Promise<Daemon> {
  const version = agentVersion();
  const clock = options.clock ?? systemClock;
  // First, so a bad web config fails the start before anything else is set up.
  const web = loadWebConfig(config.webConfigFile, logger, clock.now());
  const registry = new Registry();
  const metrics = new AgentMetrics(registry, { maxDestinations: config.maxDestinations, defaultMetrics: true, version, nat: config.nat.length > 0 });
  const thresholds = natTimeWaitThresholdsMs(config.nat);
  const sampler =
    options.sampler ??
    new WorkerSampler(
      {
        procRoot: config.procRoot,
        endianness: endianness(),
        rateWindowSeconds: config.rateWindowSeconds,
        ...(thresholds.length > 0 ? { timeWaitAgeThresholdsMs: thresholds } : {}),
      },
      config.sampleTimeoutMs,
    );
  const errorLogs = new ErrorLogPipeline(config, logger, clock);
  registerErrorLogMetrics(registry, errorLogs.counts, () => errorLogs.totals(), logger.child({ component: 'metrics' }));
  const nginx = new NginxWatcher(config, logger.child({ component: 'nginxconf' }));
  metrics.reportSources(() => [...errorLogs.sources(), ...nginx.sources()]);
  let findingsView: FindingsView | null = null;
  const levels = { warningHeadroomRatio: config.warningHeadroomRatio, criticalHeadroomRatio: config.criticalHeadroomRatio };
  const loop = new SampleLoop(sampler, metrics, logger.child({ component: 'sampler' }), {
    intervalMs: config.sampleIntervalMs,
    now: () => clock.now(),
    nat: config.nat,
    onSample: (sample, _rate, nat) => {
      if (sample.headroom === null || sample.settings === null) return; // keep the last findings; source_up says why
      // Only the destinations a rule may look at need mapping to upstream groups: the worst ones come first.
      // The NATs' worst destinations too: a NAT runs short where the kernel has plenty.
      const mapped = new Set([
        ...sample.headroom.destinations.slice(0, MAX_MAPPED_DESTINATIONS).map((d) => d.destination),
        ...nat.flatMap((n) => n.destinations.slice(0, MAX_MAPPED_NAT_DESTINATIONS).map((d) => d.destination)),
      ]);
      const nginxView = nginx.evidence([...mapped], sample.takenAtMs);
      const { findings, status } = assess({
        sample,
        thresholds: levels,
        host: hostContext(sample.takenAtMs),
        ...(nat.length > 0 ? { nat } : {}),
        ...(errorLogs.enabled ? { errorLog: errorLogs.recent.evidence(clock.now()) } : {}),
        ...(nginxView !== undefined ? { nginx: nginxView } : {}),
      });
      metrics.setFindings(findings);
      findingsView = { generatedAt: new Date(sample.takenAtMs).toISOString(), status, findings };
    },
  });
  const server = buildServer({
    registry,
    generation: () => metrics.generation,
    clock,
    findings: () => findingsView,
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
