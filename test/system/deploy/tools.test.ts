/**
 * The deployment examples, checked by the tools that run them: promtool on the
 * generated PrometheusRule's groups, nginx on the sidecar's nginx.conf, the
 * built agent on that same config, and systemd on the unit file.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { describeWith } from '../../support/gate.js';
import { runAgent } from '../../support/agentProcess.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURE_PROC = join(REPO, 'test/fixtures/real-tw-exhaustion/proc');
const UNIT = join(REPO, 'deploy/systemd/nginx-port-agent.service');

const work = mkdtempSync(join(tmpdir(), 'npa-deploy-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** The nginx.conf of the sidecar example's ConfigMap. */
function sidecarNginxConf(): string {
  const docs = parseAllDocuments(readFileSync(join(REPO, 'deploy/kubernetes/sidecar.yaml'), 'utf8'));
  if (!Array.isArray(docs)) throw new Error('sidecar.yaml: not YAML documents');
  const cm = docs.map((d) => d.toJS() as { kind: string; data?: Record<string, string> }).find((d) => d.kind === 'ConfigMap');
  const conf = cm?.data?.['nginx.conf'];
  if (conf === undefined) throw new Error('sidecar.yaml: no ConfigMap with nginx.conf');
  return conf;
}

describeWith(['command:promtool'], 'PrometheusRule: promtool', () => {
  it('accepts the generated groups', () => {
    const rule = parse(readFileSync(join(REPO, 'deploy/kubernetes/prometheusrule.yaml'), 'utf8')) as { spec: { groups: unknown[] } };
    const file = join(work, 'rules.yml');
    writeFileSync(file, stringify({ groups: rule.spec.groups }, { lineWidth: 0 }));
    const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });
});

describeWith(['command:nginx'], "sidecar's nginx.conf: nginx -t", () => {
  it('is a valid nginx configuration', () => {
    // Its paths moved into a scratch directory, and the upstream's host name,
    // which only the cluster's DNS resolves, replaced by an address.
    const conf = sidecarNginxConf()
      .replace(/(?:\/var\/log\/nginx|\/tmp)\//g, `${work}/`)
      .replace(/server backend:(\d+);/, 'server 127.0.0.1:$1;');
    const file = join(work, 'nginx.conf');
    writeFileSync(file, conf);
    const r = spawnSync('nginx', ['-t', '-c', file, '-p', work, '-e', join(work, 'startup.log')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/syntax is ok/);
  });
});

describeWith(['built'], "sidecar's nginx.conf: the agent", () => {
  it('reads it and finds the upstream with its keepalive pool', async () => {
    const file = join(work, 'agent-nginx.conf');
    writeFileSync(file, sidecarNginxConf());
    const r = await runAgent(['diagnose', '--json', '--proc-root', FIXTURE_PROC, '--rate-interval-ms', '0', '--nginx-conf', file, '--nginx-version', '1.28.0', '--error-log', join(work, 'none.log')]);
    expect(r.code, r.stderr).toBe(2);
    const report = JSON.parse(r.stdout) as { nginx: { files: string[]; problems: string[]; upstreams: { name: string; servers: string[]; keepalive: number }[] } };
    expect(report.nginx.files).toEqual([file]);
    expect(report.nginx.upstreams).toEqual([expect.objectContaining({ name: 'backend', servers: ['backend:8080'], keepalive: 32 })]);
    // The one problem allowed: "backend" resolves only inside the cluster.
    for (const p of report.nginx.problems) expect(p).toMatch(/^backend: /);
  });
});

describeWith(['command:systemd-analyze'], 'systemd unit: systemd-analyze', () => {
  it('verify finds nothing to say', () => {
    // verify exits 0 on unknown keys and bad values too, and only prints them.
    const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).toBe('');
  });

  it('security rates its exposure OK or better', () => {
    const out = execFileSync('systemd-analyze', ['security', '--offline=true', '--no-pager', UNIT], { encoding: 'utf8' });
    const m = /Overall exposure level for \S+: (\d+\.\d+) (\S+)/.exec(out);
    expect(m, out.slice(-500)).not.toBeNull();
    // systemd's scale: < 2 OK, < 5 MEDIUM, < 7 EXPOSED, ≥ 7 UNSAFE.
    expect(Number(m![1])).toBeLessThan(2);
  });
});
