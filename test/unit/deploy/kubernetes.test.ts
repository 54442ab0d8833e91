/**
 * The Kubernetes examples in deploy/kubernetes/: valid YAML, and every reference
 * inside them holds (selectors, named ports, volumes, the paths nginx and the
 * agent share, the job name the alert rules select on), with the security
 * settings docs/deploying.md promises on every container.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DEFAULTS, envName, resolveConfig, type ConfigKey } from '../../../agent/config.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const DIR = join(REPO, 'deploy/kubernetes');
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };

/* Just the fields the checks read; anything else in the manifests is left alone. */
interface Meta {
  name: string;
  labels?: Record<string, string>;
}
interface Port {
  name?: string;
  containerPort: number;
  hostPort?: number;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
interface Mount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: EnvVar[];
  ports?: Port[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  securityContext?: {
    runAsUser?: number;
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
  volumeMounts?: Mount[];
}
interface Volume {
  name: string;
  emptyDir?: unknown;
  configMap?: { name: string };
  hostPath?: { path: string };
}
interface PodSpec {
  hostNetwork?: boolean;
  dnsPolicy?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; supplementalGroups?: number[]; seccompProfile?: { type: string } };
  containers: Container[];
  volumes?: Volume[];
}
interface Workload {
  kind: 'Deployment' | 'DaemonSet';
  metadata: Meta;
  spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
}
interface Doc {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  [field: string]: unknown;
}

const KINDS: Record<string, string> = {
  ConfigMap: 'v1',
  Service: 'v1',
  Deployment: 'apps/v1',
  DaemonSet: 'apps/v1',
  ServiceMonitor: 'monitoring.coreos.com/v1',
  PodMonitor: 'monitoring.coreos.com/v1',
  PrometheusRule: 'monitoring.coreos.com/v1',
};

function load(file: string): Doc[] {
  const docs = parseAllDocuments(readFileSync(join(DIR, file), 'utf8'));
  if (!Array.isArray(docs)) throw new Error(`${file}: not YAML documents`);
  for (const d of docs) {
    if (d.errors.length > 0 || d.warnings.length > 0) throw new Error(`${file}: ${[...d.errors, ...d.warnings].map((e) => e.message).join('; ')}`);
  }
  return docs.map((d) => d.toJS() as Doc);
}

function only(docs: Doc[], kind: string): unknown {
  const found = docs.filter((d) => d.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0];
}

const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

const container = (pod: PodSpec, name: string): Container => {
  const c = pod.containers.find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
};

const env = (c: Container): Record<string, string> => Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));

/** The volume mounted at `path` in `c`, with the mount. */
function mountAt(pod: PodSpec, c: Container, path: string): { mount: Mount; volume: Volume } {
  const mount = (c.volumeMounts ?? []).filter((m) => path === m.mountPath || path.startsWith(m.mountPath.replace(/\/?$/, '/'))).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (!mount) throw new Error(`${c.name}: nothing mounted at ${path}`);
  const volume = (pod.volumes ?? []).find((v) => v.name === mount.name);
  if (!volume) throw new Error(`${c.name}: mount ${mount.name} has no volume`);
  return { mount, volume };
}

/** The job name the alert rules select on: every `job="…"` matcher in rules/*.yml. */
function ruleJobs(): string[] {
  const rules = readdirSync(join(REPO, 'rules')).filter((f) => f.endsWith('.yml'));
  const jobs = new Set<string>();
  for (const f of rules) for (const m of readFileSync(join(REPO, 'rules', f), 'utf8').matchAll(/\bjob\s*=\s*"([^"]+)"/g)) jobs.add(m[1]!);
  return [...jobs];
}

const AGENT_ENV = new Set((Object.keys(DEFAULTS) as ConfigKey[]).map(envName));

/** Checks for the agent container in either example; returns its environment. */
async function checkAgent(pod: PodSpec, c: Container): Promise<Record<string, string>> {
  expect(c.image).toBe(`nginx-port-agent:${pkg.version}`);
  // The image's command is `run`; the settings come from the environment.
  expect(c.args ?? ['run']).toEqual(['run']);
  expect(c.command).toBeUndefined();
  const vars = env(c);
  for (const name of Object.keys(vars).filter((n) => n.startsWith('NGINX_PORT_AGENT_'))) expect(AGENT_ENV, name).toContain(name);
  // The agent accepts the settings (a node address stands in for the downward API's).
  const resolved = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, v.replace(/\$\(([A-Z_]+)\)/g, (_, n: string) => (n === 'NODE_IP' ? '10.0.0.7' : `$(${n})`))]));
  const config = await resolveConfig({ env: resolved, flags: {} });
  expect(config.ok ? [] : config.problems).toEqual([]);
  const listenPort = (vars['NGINX_PORT_AGENT_LISTEN'] ?? DEFAULTS.listen).split(':').pop();
  const metrics = (c.ports ?? []).find((p) => p.name === 'metrics');
  expect(String(metrics?.containerPort)).toBe(listenPort);
  expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
  // Everything it reads from nginx is mounted read-only.
  for (const path of [vars['NGINX_PORT_AGENT_NGINX_CONF']!, vars['NGINX_PORT_AGENT_ERROR_LOGS']!]) {
    expect(path, 'set').toBeDefined();
    expect(mountAt(pod, c, path).mount.readOnly, path).toBe(true);
  }
  return vars;
}

describe.each(['sidecar.yaml', 'daemonset.yaml'])('%s', (file) => {
  const docs = load(file);
  const workloads = docs.filter((d): d is Doc & Workload => d.kind === 'Deployment' || d.kind === 'DaemonSet');

  it('has only known kinds, each with its API version and a valid name', () => {
    for (const d of docs) {
      expect(KINDS[d.kind], d.kind).toBe(d.apiVersion);
      expect(d.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    }
    expect(workloads).toHaveLength(1);
  });

  it('workload: selector matches its pods; every mount has a volume and every volume a mount; probes use named ports; images pinned', () => {
    for (const w of workloads) {
      const pod = w.spec.template.spec;
      expect(matches(w.spec.selector.matchLabels, w.spec.template.metadata.labels)).toBe(true);
      const volumes = new Set((pod.volumes ?? []).map((v) => v.name));
      const mounted = new Set(pod.containers.flatMap((c) => (c.volumeMounts ?? []).map((m) => m.name)));
      expect([...mounted].filter((m) => !volumes.has(m))).toEqual([]);
      expect([...volumes].filter((v) => !mounted.has(v))).toEqual([]);
      for (const c of pod.containers) {
        expect(c.image, c.name).toMatch(/^[^:]+:\d+\.\d+\.\d+$/);
        const names = new Set((c.ports ?? []).map((p) => p.name));
        for (const probe of [c.livenessProbe, c.readinessProbe]) if (probe?.httpGet) expect(names, c.name).toContain(probe.httpGet.port);
      }
    }
  });

  it('every container: non-root, read-only root filesystem, no capabilities, no privilege escalation, RuntimeDefault seccomp', () => {
    for (const w of workloads) {
      const pod = w.spec.template.spec;
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.securityContext?.runAsNonRoot).toBe(true);
      expect(pod.securityContext?.seccompProfile).toEqual({ type: 'RuntimeDefault' });
      for (const c of pod.containers) {
        const sc = c.securityContext ?? {};
        expect(sc.runAsUser ?? pod.securityContext?.runAsUser, c.name).toBeGreaterThan(0);
        expect(sc.runAsNonRoot ?? true, c.name).toBe(true);
        expect(sc.readOnlyRootFilesystem, c.name).toBe(true);
        expect(sc.allowPrivilegeEscalation, c.name).toBe(false);
        expect(sc.privileged ?? false, c.name).toBe(false);
        expect(sc.capabilities, c.name).toEqual({ drop: ['ALL'] });
      }
    }
  });
});

describe('sidecar.yaml', () => {
  const docs = load('sidecar.yaml');
  const deployment = only(docs, 'Deployment') as Workload;
  const pod = deployment.spec.template.spec;
  const nginx = container(pod, 'nginx');
  const agent = container(pod, 'port-agent');
  const configMap = only(docs, 'ConfigMap') as Doc & { data: Record<string, string> };
  const nginxConf = configMap.data['nginx.conf']!;

  it("the agent reads the config nginx runs with, from the same ConfigMap, read-only", async () => {
    const vars = await checkAgent(pod, agent);
    const args = nginx.args ?? [];
    const confPath = args[args.indexOf('-c') + 1];
    expect(confPath).toBe(vars['NGINX_PORT_AGENT_NGINX_CONF']);
    const inNginx = mountAt(pod, nginx, confPath!);
    const inAgent = mountAt(pod, agent, confPath!);
    expect(inAgent.volume).toBe(inNginx.volume);
    expect(inNginx.volume.configMap?.name).toBe(configMap.metadata.name);
    expect(confPath!.slice(inNginx.mount.mountPath.replace(/\/?$/, '/').length)).toBe('nginx.conf');
  });

  it("the agent tails the error-log file nginx writes, through a shared emptyDir that hides the image's /dev/stderr links", () => {
    const vars = env(agent);
    const files = [...nginxConf.matchAll(/^\s*error_log\s+(\S+)/gm)].map((m) => m[1]!).filter((f) => f.startsWith('/'));
    expect(files).toEqual([vars['NGINX_PORT_AGENT_ERROR_LOGS']]);
    const inNginx = mountAt(pod, nginx, files[0]!);
    const inAgent = mountAt(pod, agent, files[0]!);
    expect(inNginx.volume.emptyDir).toBeDefined();
    expect(inAgent.volume).toBe(inNginx.volume);
    // Mounted over the directory that holds the links in the official image.
    expect(inNginx.mount.mountPath).toBe('/var/log/nginx');
    expect(inNginx.mount.readOnly ?? false).toBe(false);
    // The error log is rotated by truncation in the pod, on the same volume.
    const trim = container(pod, 'log-trim');
    expect(trim.command?.join(' ')).toContain(`truncate -s 0 ${files[0]!}`);
    expect(mountAt(pod, trim, files[0]!).volume).toBe(inNginx.volume);
  });

  it('nginx writes only to emptyDirs: pid and temporary files under a writable mount', () => {
    const paths = [...nginxConf.matchAll(/^\s*(pid|\w+_temp_path)\s+(\S+?);/gm)].map((m) => m[2]!);
    expect(paths.length).toBeGreaterThanOrEqual(6);
    for (const p of paths) {
      const { mount, volume } = mountAt(pod, nginx, p);
      expect(volume.emptyDir, p).toBeDefined();
      expect(mount.readOnly ?? false, p).toBe(false);
    }
    // Unprivileged: no port below 1024.
    for (const m of nginxConf.matchAll(/^\s*listen\s+(\d+)/gm)) expect(Number(m[1])).toBeGreaterThanOrEqual(1024);
  });

  it("--nginx-version is the nginx image's version; the agent has no readiness probe to gate nginx's", () => {
    expect(nginx.image).toBe(`nginx:${env(agent)['NGINX_PORT_AGENT_NGINX_VERSION']!}`);
    expect(agent.readinessProbe).toBeUndefined();
  });

  it('Service and ServiceMonitor select the pods and the metrics port, under the job name the alert rules use', () => {
    const service = only(docs, 'Service') as Doc & { spec: { selector: Record<string, string>; publishNotReadyAddresses?: boolean; ports: { name: string; targetPort: string }[] } };
    expect(matches(service.spec.selector, deployment.spec.template.metadata.labels)).toBe(true);
    expect(service.spec.publishNotReadyAddresses).toBe(true);
    const port = service.spec.ports.find((p) => p.name === 'metrics');
    expect((agent.ports ?? []).map((p) => p.name)).toContain(port?.targetPort);
    const monitor = only(docs, 'ServiceMonitor') as Doc & { spec: { jobLabel: string; selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] } };
    expect(matches(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })]);
    // The Prometheus Operator takes the job name from this label of the Service.
    expect(ruleJobs()).toEqual([service.metadata.labels?.[monitor.spec.jobLabel]]);
  });
});

describe('daemonset.yaml', () => {
  const docs = load('daemonset.yaml');
  const ds = only(docs, 'DaemonSet') as Workload;
  const pod = ds.spec.template.spec;
  const agent = container(pod, 'agent');

  it("runs in the host's network namespace, reads nginx's host config and logs read-only, in group adm", async () => {
    const vars = await checkAgent(pod, agent);
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(pod.securityContext?.supplementalGroups).toContain(4);
    for (const path of [vars['NGINX_PORT_AGENT_NGINX_CONF']!, vars['NGINX_PORT_AGENT_ERROR_LOGS']!]) {
      const { mount, volume } = mountAt(pod, agent, path);
      expect(volume.hostPath?.path).toBe(mount.mountPath);
    }
    // It listens on the node's address only, which the downward API gives.
    expect(vars['NGINX_PORT_AGENT_LISTEN']).toBe('$(NODE_IP):9842');
    const names = (agent.env ?? []).map((e) => e.name);
    expect(names.indexOf('NODE_IP')).toBeLessThan(names.indexOf('NGINX_PORT_AGENT_LISTEN'));
    expect(agent.env?.find((e) => e.name === 'NODE_IP')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'status.hostIP' } });
    for (const p of agent.ports ?? []) expect(p.hostPort).toBe(p.containerPort);
    expect(agent.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
  });

  it('PodMonitor selects the pods and the metrics port, under the job name the alert rules use', () => {
    const monitor = only(docs, 'PodMonitor') as Doc & { spec: { jobLabel: string; selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { port: string; path: string }[] } };
    const labels = ds.spec.template.metadata.labels;
    expect(matches(monitor.spec.selector.matchLabels, labels)).toBe(true);
    expect(monitor.spec.podMetricsEndpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })]);
    // The Prometheus Operator takes the job name from this label of the pods.
    expect(ruleJobs()).toEqual([labels[monitor.spec.jobLabel]]);
  });
});
