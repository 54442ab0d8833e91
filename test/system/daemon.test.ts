import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeWith } from '../support/gate.js';
import { until } from '../support/until.js';
import { startDaemon, type Daemon } from '../support/agentProcess.js';
import { scratchProc } from '../support/procTree.js';


const get = async (url: string): Promise<{ status: number; body: string }> => {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
};

describeWith(['built', 'command:promtool'], 'agent run (built daemon)', () => {
  const scratch = scratchProc();
  let daemon: Daemon | undefined;
  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    scratch.cleanup();
  });

  it('becomes ready, serves metrics promtool accepts, survives a broken source and stops cleanly on SIGTERM', async () => {
    daemon = await startDaemon(['--proc-root', scratch.root, '--sample-interval-ms', '100', '--log-level', 'info']);
    const d = daemon;
    await until('readyz', async () => ((await get(`${d.url}/readyz`)).status === 200 ? true : undefined));

    const metrics = await get(`${d.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('nginx_port_destination_headroom{source_ip="127.0.0.1",destination="127.0.0.2:9000"} 0');
    expect(metrics.body).toContain('process_resident_memory_bytes');
    // promtool exits non-zero on any lint problem.
    execFileSync('promtool', ['check', 'metrics'], { input: metrics.body });

    // A source that fails while running: source_up goes to 0, the scrape still answers 200
    // with the last good values, the failure is logged once, and recovery is noticed.
    const tcp = join(scratch.root, 'net/tcp');
    renameSync(tcp, `${tcp}.away`);
    const down = await until('source_up 0', async () => {
      const m = await get(`${d.url}/metrics`);
      return m.body.includes('nginx_port_source_up{source="tcp"} 0') ? m : undefined;
    });
    expect(down.status).toBe(200);
    expect(down.body).toContain('nginx_port_destination_headroom{source_ip="127.0.0.1",destination="127.0.0.2:9000"} 0');
    await new Promise((r) => setTimeout(r, 500)); // several more failing samples
    expect(d.logs().match(/source tcp failed/g)).toHaveLength(1);
    renameSync(`${tcp}.away`, tcp);
    await until('source_up 1', async () => ((await get(`${d.url}/metrics`)).body.includes('nginx_port_source_up{source="tcp"} 1') ? true : undefined));
    expect(d.logs()).toMatch(/source tcp recovered/);

    const code = await d.stop('SIGTERM');
    expect(code).toBe(0);
    expect(d.logs()).toMatch(/"msg":"stopped"/);
    daemon = undefined;
  });
});

describeWith(['built', 'command:promtool'], 'agent run with error logs', () => {
  const scratch = scratchProc();
  let daemon: Daemon | undefined;
  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    scratch.cleanup();
  });

  it('counts the error log\'s events per destination, follows a rename, refuses /dev/stderr, and promtool accepts it all', async () => {
    const log = join(scratch.root, '..', 'error.log');
    const stderrLink = join(scratch.root, '..', 'stderr.log');
    symlinkSync('/dev/stderr', stderrLink);
    writeFileSync(log, 'written before start: not read\n');
    daemon = await startDaemon(['--proc-root', scratch.root, '--sample-interval-ms', '200', '--error-log', log, '--error-log', stderrLink]);
    const d = daemon;
    await until('readyz', async () => ((await get(`${d.url}/readyz`)).status === 200 ? true : undefined));
    const captured = readFileSync('test/fixtures/real-tw-exhaustion/error.log', 'utf8');
    appendFileSync(log, captured);
    const first = await until('40 events', async () => {
      const m = await get(`${d.url}/metrics`);
      return m.body.includes('nginx_port_error_log_events_total{kind="eaddrnotavail",destination="127.0.0.2:9000"} 40') ? m.body : undefined;
    });
    expect(first).toContain('nginx_port_error_log_lines_total 40');
    expect(first).toContain(`nginx_port_source_up{source="error_log:${log}"} 1`);
    expect(first).toContain(`nginx_port_source_up{source="error_log:${stderrLink}"} 0`);
    // logrotate "create": rename, new file; the rest of the old file is still read.
    renameSync(log, `${log}.1`);
    appendFileSync(`${log}.1`, captured.split('\n').slice(0, 3).join('\n') + '\n');
    writeFileSync(log, captured.split('\n').slice(0, 2).join('\n') + '\n');
    const after = await until('45 events', async () => {
      const m = await get(`${d.url}/metrics`);
      return m.body.includes('nginx_port_error_log_events_total{kind="eaddrnotavail",destination="127.0.0.2:9000"} 45') ? m.body : undefined;
    });
    expect(after).toContain('nginx_port_error_log_rotations_total{type="rename"} 1');
    execFileSync('promtool', ['check', 'metrics'], { input: after });
    expect(d.logs()).toMatch(new RegExp(`"path":"${stderrLink}".*refused`));
    expect(await d.stop('SIGTERM')).toBe(0);
    daemon = undefined;
  });
});

describeWith(['command:promtool'], 'golden /metrics', () => {
  it('passes promtool check metrics', () => {
    execFileSync('promtool', ['check', 'metrics'], { input: execFileSync('cat', ['test/golden/metrics-real-tw-exhaustion.prom']) });
  });
});

describeWith(['built', 'command:promtool'], 'agent run with an nginx config', () => {
  const scratch = scratchProc();
  let daemon: Daemon | undefined;
  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    scratch.cleanup();
  });

  it('publishes findings as metrics and JSON, re-reads the config on SIGHUP, and reports an unreadable config as a source down', async () => {
    const conf = join(scratch.root, '..', 'nginx.conf');
    // The scratch proc tree holds the captured exhaustion towards 127.0.0.2:9000.
    writeFileSync(conf, 'events {}\nhttp {\n  upstream backend { server 127.0.0.2:9000; }\n  server { listen 8080; location / { proxy_pass http://backend; } }\n}\n');
    daemon = await startDaemon([
      '--proc-root', scratch.root, '--sample-interval-ms', '100', '--nginx-conf', conf, '--nginx-version', '1.22.1', '--nginx-conf-reload-ms', '3600000',
    ]);
    const d = daemon;
    const findings = await until('findings', async () => {
      const r = await get(`${d.url}/api/findings`);
      return r.status === 200 ? (JSON.parse(r.body) as { status: string; findings: { id: string; severity: string; upstreams: string[]; fix: string }[] }) : undefined;
    });
    expect(findings.status).toBe('CRITICAL');
    expect(findings.findings[0]).toMatchObject({ id: 'upstream_no_keepalive', severity: 'critical', upstreams: ['backend'] });
    expect(findings.findings[0]!.fix).toContain('keepalive 32;');
    const m = await get(`${d.url}/metrics`);
    expect(m.body).toContain('nginx_port_finding_active{id="upstream_no_keepalive",severity="critical"} 1');
    expect(m.body).toContain('nginx_port_source_up{source="nginx_config"} 1');
    expect(m.body).toMatch(/nginx_port_findings\{severity="critical"\} [1-9]/);
    execFileSync('promtool', ['check', 'metrics'], { input: m.body });

    // The operator adds the pool (with the HTTP/1.1 lines) and sends SIGHUP, as to nginx: the config is re-read at once.
    writeFileSync(
      conf,
      'events {}\nhttp {\n  upstream backend { server 127.0.0.2:9000; keepalive 32; }\n' +
        '  server { listen 8080; location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } }\n}\n',
    );
    d.child.kill('SIGHUP');
    const after = await until('config re-read', async () => {
      const body = (await get(`${d.url}/metrics`)).body;
      return body.includes('id="upstream_no_keepalive"') ? undefined : body;
    });
    // Under a second after the change it is too soon to blame the new pool: the ports drain, for now.
    if (!after.includes('id="keepalive_pool_churn"')) expect(after).toContain('nginx_port_finding_active{id="time_wait_draining",severity="info"} 1');
    // The captured sockets are still exhausted, and fresh ones keep looking younger than the change: the
    // cause is then the churn of a working pool.
    await until('keepalive_pool_churn once the config is a second old', async () => {
      const body = (await get(`${d.url}/metrics`)).body;
      return body.includes('nginx_port_finding_active{id="keepalive_pool_churn",severity="critical"} 1') ? body : undefined;
    });

    // An unreadable config: source down, findings go on without it, the scrape still answers.
    renameSync(conf, `${conf}.away`);
    d.child.kill('SIGHUP');
    const down = await until('nginx_config down', async () => {
      const r = await get(`${d.url}/metrics`);
      return r.body.includes('nginx_port_source_up{source="nginx_config"} 0') ? r : undefined;
    });
    expect(down.status).toBe(200);
    expect(down.body).toContain('nginx_port_finding_active{id="headroom_exhausted",severity="critical"} 1');
    expect(d.logs()).toMatch(/nginx config: 1 problem/);
    expect(d.logs().match(/SIGHUP: re-reading the nginx config/g)).toHaveLength(2);
    expect(await d.stop('SIGTERM')).toBe(0);
    daemon = undefined;
  });
});
