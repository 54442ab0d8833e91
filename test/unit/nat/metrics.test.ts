/**
 * The NAT metrics: registered only with a NAT configured, used and capacity for
 * every NAT, the headroom ratio for host-scope NATs only, each NAT's series
 * bounded by maxDestinations (largest share first), and dropped with their
 * destination.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../agent/config.js';
import { AgentMetrics, METRIC } from '../../../agent/export/metrics.js';
import { computeNat, natTimeWaitThresholdsMs } from '../../../agent/nat/model/nat.js';
import { ProcBuffer } from '../../../agent/sockets/read/procfs.js';
import { takeSocketSample } from '../../../agent/sockets/sample.js';
import { established, tcp4 } from '../../support/procText.js';
import { syntheticProc } from '../../support/procTree.js';

async function nats(list: unknown[]) {
  const r = await resolveConfig({ env: {}, flags: { nat: list } });
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.config.nat;
}

async function scrape(maxDestinations: number, rows: Parameters<typeof tcp4>[0], list: unknown[]): Promise<string> {
  const proc = syntheticProc({ tcp: tcp4(rows) });
  try {
    const configs = await nats(list);
    const thresholds = natTimeWaitThresholdsMs(configs);
    const sample = takeSocketSample({ procRoot: proc.root, endianness: 'LE', rateWindowSeconds: 60, timeWaitAgeThresholdsMs: thresholds }, new ProcBuffer(), 0);
    const registry = new Registry();
    const metrics = new AgentMetrics(registry, { maxDestinations, defaultMetrics: false, version: 't', nat: configs.length > 0 });
    metrics.update({ sample, connectAttemptsPerSecond: null, nat: sample.headroom === null ? [] : computeNat(configs, sample.headroom, thresholds) });
    return await registry.metrics();
  } finally {
    proc.cleanup();
  }
}

const ROWS = [
  ...established(60, '10.0.0.1', 33000, '203.0.113.10', 443),
  ...established(30, '10.0.0.2', 33000, '203.0.113.10', 443),
  ...established(20, '10.0.0.1', 34000, '198.51.100.7', 5432),
  ...established(10, '10.0.0.1', 35000, '192.0.2.44', 8443),
  ...established(300, '10.0.0.1', 36000, '10.20.0.5', 8080),
];

const lines = (text: string, name: string): string[] => text.split('\n').filter((l) => l.startsWith(`${name}{`));

describe('NAT metrics', () => {
  it('exports no NAT family at all without a NAT, not even its HELP line', async () => {
    const text = await scrape(100, ROWS, []);
    expect(text).not.toContain('nginx_port_nat_');
  });

  it('host scope: used, capacity and the headroom ratio, summed over source IPs, worst first within maxDestinations', async () => {
    const text = await scrape(2, ROWS, [{ profile: 'gcp-cloud-nat', name: 'nat-euw1', ports: 128 }]);
    expect(lines(text, METRIC.natInfo)).toEqual(['nginx_port_nat_info{nat="nat-euw1",profile="gcp-cloud-nat",scope="host"} 1']);
    expect(lines(text, METRIC.natUsed)).toEqual([
      'nginx_port_nat_destination_used{nat="nat-euw1",destination="203.0.113.10:443"} 90',
      'nginx_port_nat_destination_used{nat="nat-euw1",destination="198.51.100.7:5432"} 20',
    ]);
    expect(lines(text, METRIC.natCapacity)).toEqual([
      'nginx_port_nat_destination_capacity{nat="nat-euw1",destination="203.0.113.10:443"} 128',
      'nginx_port_nat_destination_capacity{nat="nat-euw1",destination="198.51.100.7:5432"} 128',
    ]);
    expect(lines(text, METRIC.natHeadroomRatio)).toEqual([
      'nginx_port_nat_destination_headroom_ratio{nat="nat-euw1",destination="203.0.113.10:443"} 0.296875',
      'nginx_port_nat_destination_headroom_ratio{nat="nat-euw1",destination="198.51.100.7:5432"} 0.84375',
    ]);
  });

  it('fleet scope: used and capacity, no headroom ratio of one host\'s', async () => {
    const text = await scrape(100, ROWS, [{ profile: 'aws-nat-gateway', name: 'use1-natgw-a', ips: 2 }]);
    expect(lines(text, METRIC.natInfo)).toEqual(['nginx_port_nat_info{nat="use1-natgw-a",profile="aws-nat-gateway",scope="fleet"} 1']);
    expect(lines(text, METRIC.natUsed)).toHaveLength(3);
    expect(lines(text, METRIC.natCapacity)[0]).toBe('nginx_port_nat_destination_capacity{nat="use1-natgw-a",destination="203.0.113.10:443"} 110000');
    expect(lines(text, METRIC.natHeadroomRatio)).toEqual([]);
  });

  it('drops the series of a destination that has gone', async () => {
    const registry = new Registry();
    const metrics = new AgentMetrics(registry, { maxDestinations: 100, defaultMetrics: false, version: 't', nat: true });
    const configs = await nats([{ profile: 'gcp-cloud-nat' }]);
    for (const rows of [ROWS, ROWS.slice(90)]) {
      const proc = syntheticProc({ tcp: tcp4(rows) });
      const sample = takeSocketSample({ procRoot: proc.root, endianness: 'LE', rateWindowSeconds: 60 }, new ProcBuffer(), 0);
      proc.cleanup();
      metrics.update({ sample, connectAttemptsPerSecond: null, nat: computeNat(configs, sample.headroom!, []) });
    }
    expect(lines(await registry.metrics(), METRIC.natUsed).map((l) => /destination="([^"]+)"/.exec(l)?.[1])).toEqual(['198.51.100.7:5432', '192.0.2.44:8443']);
  });
});
