/**
 * Directive tree (includes already spliced in) → NginxConfigModel. Pure.
 *
 * What is read, and the nginx rules applied (module docs at
 * https://nginx.org/en/docs/, sources under src/http and src/stream):
 *
 * - Main level: `worker_processes` (a number or `auto`), `worker_rlimit_nofile`;
 *   `events { worker_connections }`.
 * - `upstream name { … }` in `http` and `stream`: each `server address [weight=N]
 *   [max_conns=N] [backup] [down] …`, and in http `keepalive`,
 *   `keepalive_requests`, `keepalive_time`, `keepalive_timeout`
 *   (ngx_http_upstream_keepalive_module). An http server without a port gets 80
 *   (ngx_http_upstream_server sets default_port = 80); a stream server must have
 *   one ("no port in upstream"). Weight defaults to 1, max_conns to 0 (no limit).
 * - Every `proxy_pass`, with the settings in force where it is written. nginx
 *   merges a location's settings with its parent's (ngx_http_proxy_merge_loc_conf):
 *   http → server → location → nested location, `if` in location and
 *   `limit_except` (both are locations without a name to the core module).
 *   `proxy_http_version` and `proxy_bind` are inherited unless set at the level
 *   (`proxy_bind off` cancels an inherited one). `proxy_set_header` is an array
 *   inherited as a whole, and only when the level has no `proxy_set_header` at
 *   all (ngx_http_proxy_module docs: "These directives are inherited from the
 *   previous configuration level if and only if there are no proxy_set_header
 *   directives defined on the current level").
 * - Where a directive sits inside a level does not matter: a proxy_set_header
 *   after a nested location still applies to that nested location.
 * - A proxy_pass target `http://name` (no port, no variables) whose name is an
 *   upstream group's, compared without regard to case, uses that group
 *   (ngx_http_upstream_add); with a port it is a configuration error ("upstream
 *   may not have port"). Any other host is an implicit group nginx resolves at
 *   start-up, on port 80 for http:// and 443 for https:// when none is given.
 *   A target with variables is evaluated per request (hasVariables).
 * - `map` and `split_clients` values, so a variable in proxy_pass, proxy_bind or
 *   `proxy_set_header Connection` can be followed to what it may hold.
 *
 * Anything nginx would refuse is reported with its file and line, and the rest of
 * the configuration is still read.
 */
import type { AssembledConfig } from '../parse/includes.js';
import type { Directive } from '../parse/parse.js';
import { canonicalIp, parseEndpoint } from './endpoints.js';
import type {
  ConfigProblem,
  MapDefinition,
  NginxConfigModel,
  NginxModule,
  ProxyPass,
  SourceLocation,
  UpstreamBalancer,
  UpstreamGroup,
  UpstreamServer,
  VersionedFeature,
  VersionedUse,
} from './types.js';
import { parseCount, parseTimeMs } from './values.js';

/** The proxy settings in force at one level. */
interface Scope {
  httpVersion: string | null;
  httpVersionAt: SourceLocation | null;
  /** The raw proxy_bind value, `off` included (it cancels an inherited bind), and where it is written. */
  bind: string | null;
  bindAt: SourceLocation | null;
  /** proxy_set_header pairs in force; null when no level so far set any. */
  headers: { name: string; value: string }[] | null;
}

const at = (d: Directive): SourceLocation => ({ file: d.file, line: d.line });

/** A simple directive as written (the parser keeps it); rebuilt from the words for a hand-built tree. */
const textOf = (d: Directive): string => d.text ?? `${[d.name, ...d.args].join(' ')};`;

/** The index of the last element that matches, or -1. */
function lastIndexOf<T>(list: readonly T[], match: (x: T) => boolean): number {
  for (let i = list.length - 1; i >= 0; i--) if (match(list[i]!)) return i;
  return -1;
}

/** The load-balancing methods of the open-source modules (hash, ip_hash, least_conn, random). */
const BALANCERS = new Set(['hash', 'ip_hash', 'least_conn', 'random']);

const NO_SCOPE: Scope = { httpVersion: null, httpVersionAt: null, bind: null, bindAt: null, headers: null };

class Extractor {
  readonly problems: ConfigProblem[] = [];
  readonly upstreams: UpstreamGroup[] = [];
  readonly proxyPasses: ProxyPass[] = [];
  readonly splitClients: NginxConfigModel['splitClients'] = [];
  readonly maps: MapDefinition[] = [];
  readonly versioned: VersionedUse[] = [];
  workerProcesses: number | 'auto' | null = null;
  workerConnections: number | null = null;
  workerRlimitNofile: number | null = null;

  problem(d: Directive, message: string): void {
    this.problems.push({ file: d.file, line: d.line, message });
  }

  /** Records a use of something whose meaning depends on nginx's version (checked in compat.ts). */
  uses(feature: VersionedFeature, d: Directive, group: string | null, balancer?: UpstreamBalancer): void {
    this.versioned.push({ feature, group, text: textOf(d), at: at(d), ...(balancer !== undefined ? { balancer } : {}) });
  }

  /** The one argument of a directive, or null (reported) when it has another count. */
  one(d: Directive): string | null {
    if (d.args.length !== 1) {
      this.problem(d, `invalid number of arguments in "${d.name}" directive: it takes one`);
      return null;
    }
    return d.args[0]!;
  }

  count(d: Directive, min = 0): number | null {
    const v = this.one(d);
    if (v === null) return null;
    const n = parseCount(v);
    if (n === null || n < min) {
      this.problem(d, `invalid value "${v}" in "${d.name}" directive: expected a whole number${min > 0 ? ` of at least ${min}` : ''}`);
      return null;
    }
    return n;
  }

  time(d: Directive): number | null {
    const v = this.one(d);
    if (v === null) return null;
    const ms = parseTimeMs(v);
    if (ms === null) this.problem(d, `invalid value "${v}" in "${d.name}" directive: expected a time such as 500ms, 60s, 1h or 1h30m`);
    return ms;
  }

  /** The first of several same-named directives at one level; nginx refuses the repeat ("is duplicate"). */
  single(level: readonly Directive[], name: string): Directive | null {
    const found = level.filter((d) => d.name === name && d.block === undefined);
    for (const dup of found.slice(1)) this.problem(dup, `"${name}" directive is duplicate (first set at ${found[0]!.file}:${found[0]!.line}); the first is used`);
    return found[0] ?? null;
  }

  main(top: readonly Directive[]): void {
    const wp = this.single(top, 'worker_processes');
    if (wp !== null) {
      const v = this.one(wp);
      if (v === 'auto') this.workerProcesses = 'auto';
      else if (v !== null) this.workerProcesses = this.count(wp, 1);
    }
    const rl = this.single(top, 'worker_rlimit_nofile');
    if (rl !== null) this.workerRlimitNofile = this.count(rl);
    for (const ev of top.filter((d) => d.name === 'events' && d.block !== undefined)) {
      const wc = this.single(ev.block!, 'worker_connections');
      if (wc !== null) this.workerConnections = this.count(wc, 1);
    }

    const http = top.filter((d) => d.name === 'http' && d.block !== undefined);
    const stream = top.filter((d) => d.name === 'stream' && d.block !== undefined);
    for (const d of [...http.slice(1), ...stream.slice(1)]) this.problem(d, `"${d.name}" directive is duplicate`);

    // Upstream groups first: a proxy_pass may name a group defined after it.
    for (const h of http) this.variables(h.block!);
    for (const s of stream) this.variables(s.block!);
    for (const h of http) this.upstreamBlocks(h.block!, 'http');
    for (const s of stream) this.upstreamBlocks(s.block!, 'stream');
    for (const h of http) this.httpLevel(h.block!);
    for (const s of stream) this.streamLevel(s.block!);
  }

  /** `map` and `split_clients` at the http or stream level. */
  variables(level: readonly Directive[]): void {
    for (const d of level) {
      if (d.block === undefined) continue;
      if (d.name === 'split_clients') {
        if (d.args.length !== 2) {
          this.problem(d, 'invalid number of arguments in "split_clients" directive: it takes a string and a $variable');
          continue;
        }
        const values = distinct(d.block.filter((e) => e.args.length >= 1).map((e) => e.args[0]!));
        for (const e of d.block.filter((e) => e.args.length !== 1)) this.problem(e, 'a split_clients entry takes a percentage (or "*") and one value');
        this.splitClients.push({ variable: d.args[1]!, values, at: at(d) });
      } else if (d.name === 'map') {
        if (d.args.length !== 2) {
          this.problem(d, 'invalid number of arguments in "map" directive: it takes a source and a $variable');
          continue;
        }
        let defaultValue: string | null = null;
        const all: string[] = [];
        for (const e of d.block) {
          if ((e.name === 'hostnames' || e.name === 'volatile') && e.args.length === 0) continue;
          if (e.args.length !== 1) {
            this.problem(e, 'a map entry takes a key and one value');
            continue;
          }
          if (e.name === 'default') defaultValue = e.args[0]!;
          all.push(e.args[0]!);
        }
        this.maps.push({ variable: d.args[1]!, source: d.args[0]!, defaultValue, values: distinct(all), at: at(d) });
      }
    }
  }

  upstreamBlocks(level: readonly Directive[], module: NginxModule): void {
    const seen = new Map<string, Directive>();
    // A resolver at the http (or stream) level serves every upstream block without
    // its own (ngx_http_upstream_init_round_robin: us->resolver = clcf->resolver).
    const levelResolver = level.some((d) => d.name === 'resolver' && d.block === undefined);
    for (const d of level) {
      if (d.name !== 'upstream' || d.block === undefined) continue;
      const name = this.one(d);
      if (name === null) continue;
      const first = seen.get(name.toLowerCase());
      if (first !== undefined) {
        this.problem(d, `duplicate upstream "${name}" (first defined at ${first.file}:${first.line}); this one is ignored`);
        continue;
      }
      seen.set(name.toLowerCase(), d);
      const group = this.upstream(d, name, module, levelResolver);
      this.upstreams.push(group);
      this.byName.set(`${module} ${name.toLowerCase()}`, group);
    }
  }

  upstream(d: Directive, name: string, module: NginxModule, levelResolver: boolean): UpstreamGroup {
    const block = d.block!;
    const simple = block.filter((x) => x.block === undefined);
    const resolver = this.single(block, 'resolver');
    if (resolver !== null) this.uses('upstream_resolver', resolver, name);
    const servers: UpstreamServer[] = [];
    for (const s of simple.filter((x) => x.name === 'server')) {
      const server = this.server(s, name, module);
      if (server !== null) servers.push(server);
    }
    if (servers.length === 0) this.problem(d, `no servers are inside upstream "${name}"`);
    const balancerDirective = simple.filter((x) => BALANCERS.has(x.name)).pop();
    const balancer: UpstreamBalancer | null = balancerDirective === undefined ? null : { name: balancerDirective.name, at: at(balancerDirective) };
    const zone = this.single(block, 'zone');
    const group: UpstreamGroup = {
      name,
      servers,
      keepalive: null,
      keepaliveLocal: false,
      keepaliveAt: null,
      keepaliveRequests: null,
      keepaliveTimeMs: null,
      keepaliveTimeoutMs: null,
      balancer,
      keepaliveBeforeBalancer: false,
      zone: zone?.args[0] ?? null,
      resolver: resolver !== null || levelResolver,
      lines: simple.map((x) => ({ name: x.name, text: textOf(x), at: at(x) })),
      at: at(d),
      module,
    };
    if (module === 'http') this.keepaliveSettings(block, group);
    this.resolvable(d, group);
    return group;
  }

  /** `keepalive`, `keepalive_requests`, `keepalive_time`, `keepalive_timeout` of an http upstream block. */
  keepaliveSettings(block: readonly Directive[], group: UpstreamGroup): void {
    const ka = this.single(block, 'keepalive');
    if (ka !== null) {
      group.keepaliveAt = at(ka);
      // `keepalive N` everywhere; `keepalive 0` and `keepalive N local` from 1.29.7 (NGX_CONF_TAKE12,
      // ngx_http_upstream_keepalive in ngx_http_upstream_keepalive_module.c); compat.ts says where they are refused.
      if (ka.args.length === 2 && ka.args[1] !== 'local') this.problem(ka, `invalid parameter "${ka.args[1]!}" in "keepalive" directive: the only one is "local"`);
      else if (ka.args.length < 1 || ka.args.length > 2) this.problem(ka, 'invalid number of arguments in "keepalive" directive: it takes a number and, from 1.29.7, "local"');
      else {
        const n = parseCount(ka.args[0]!);
        if (n === null) this.problem(ka, `invalid value "${ka.args[0]!}" in "keepalive" directive: expected a whole number`);
        else group.keepalive = n;
        group.keepaliveLocal = ka.args[1] === 'local';
        if (n === 0) this.uses('keepalive_0', ka, group.name);
        if (group.keepaliveLocal) this.uses('keepalive_local', ka, group.name);
        // Before 1.29.7 the balancer directive read after keepalive replaces its hook (compat.ts).
        if (group.balancer != null && n !== 0 && block.indexOf(ka) < lastIndexOf(block, (x) => BALANCERS.has(x.name) && x.block === undefined)) {
          group.keepaliveBeforeBalancer = true;
          this.uses('keepalive_before_balancer', ka, group.name, group.balancer);
        }
      }
    }
    const requests = this.single(block, 'keepalive_requests');
    if (requests !== null) group.keepaliveRequests = this.count(requests);
    const kt = this.single(block, 'keepalive_time');
    if (kt !== null) {
      group.keepaliveTimeMs = this.time(kt);
      this.uses('keepalive_time', kt, group.name);
    }
    const ko = this.single(block, 'keepalive_timeout');
    if (ko !== null) group.keepaliveTimeoutMs = this.time(ko);
  }

  /**
   * What `server … resolve` needs, whatever the version (ngx_http_upstream_init_round_robin
   * and its stream twin): the group in shared memory (`zone`) and a resolver.
   */
  resolvable(d: Directive, group: UpstreamGroup): void {
    if (!group.servers.some((s) => s.resolve === true)) return;
    const where = `${d.file}:${d.line}`;
    if (group.zone === null) this.problem(d, `resolving names at run time requires upstream "${group.name}" in ${where} to be in shared memory: add "zone ${group.name} 64k;" to the block`);
    if (group.resolver !== true) this.problem(d, `no resolver defined to resolve names at run time in upstream "${group.name}" in ${where}: add "resolver ADDRESS;" to the block or the ${group.module ?? 'http'} {} level`);
  }

  server(s: Directive, group: string, module: NginxModule): UpstreamServer | null {
    const address = s.args[0];
    if (address === undefined) {
      this.problem(s, 'invalid number of arguments in "server" directive: it takes an address');
      return null;
    }
    const ep = parseEndpoint(address);
    if ('error' in ep) {
      this.problem(s, `${ep.error} in upstream "${group}" server "${address}"`);
      return null;
    }
    const server: UpstreamServer = {
      address,
      host: ep.kind === 'inet' ? ep.host : null,
      port: null,
      weight: 1,
      backup: false,
      down: false,
      maxConns: null,
      resolve: false,
      service: null,
      text: textOf(s),
      at: at(s),
    };
    for (const p of s.args.slice(1)) this.serverParameter(s, p, server, group);
    if (ep.kind === 'inet') this.serverPort(s, server, ep.port, group, module);
    return server;
  }

  serverParameter(s: Directive, p: string, server: UpstreamServer, group: string): void {
    const eq = p.indexOf('=');
    const key = eq === -1 ? p : p.slice(0, eq);
    const val = eq === -1 ? '' : p.slice(eq + 1);
    if (key === 'weight' || key === 'max_conns') {
      const n = parseCount(val);
      if (n === null || (key === 'weight' && n < 1)) {
        this.problem(s, `invalid parameter "${p}" in upstream "${group}" server "${server.address}"`);
        return;
      }
      if (key === 'weight') server.weight = n;
      else server.maxConns = n === 0 ? null : n;
    } else if (p === 'backup') server.backup = true;
    else if (p === 'down') server.down = true;
    else if (p === 'resolve') {
      server.resolve = true;
      this.uses('server_resolve', s, group);
    } else if (key === 'service' && eq !== -1) {
      if (val === '') this.problem(s, 'service is empty');
      else server.service = val;
      this.uses('server_service', s, group);
    }
    // max_fails=, fail_timeout=, slow_start=, route=, drain… do not change where connections go; the line keeps them.
  }

  /**
   * The port nginx connects to. http: 80 when none is written (ngx_http_upstream_server sets
   * default_port = 80 and never says "no port"); stream: required ("no port in upstream"), except
   * with service= (1.27.3+), where the SRV records give the ports and a written port is refused
   * ("service upstream … may not have port", both modules), as is an IP address ("requires domain name").
   */
  serverPort(s: Directive, server: UpstreamServer, written: number | null, group: string, module: NginxModule): void {
    if (server.service != null) {
      if (server.resolve !== true) this.problem(s, `service upstream "${server.address}" requires "resolve" parameter (in upstream "${group}")`);
      if (written !== null) this.problem(s, `service upstream "${server.address}" may not have port (in upstream "${group}"): the SRV records give the ports`);
      else if (server.host !== null && canonicalIp(server.host) !== null) this.problem(s, `service upstream "${server.address}" requires domain name (in upstream "${group}")`);
      return;
    }
    server.port = written ?? (module === 'http' ? 80 : null);
    if (server.port === null) this.problem(s, `no port in upstream "${group}" server "${server.address}"`);
  }

  /** Groups by module and lower-case name (nginx compares names without case). */
  private readonly byName = new Map<string, UpstreamGroup>();

  group(name: string, module: NginxModule): UpstreamGroup | undefined {
    return this.byName.get(`${module} ${name.toLowerCase()}`);
  }

  /** The settings of one level, applied over the enclosing scope. */
  scope(level: readonly Directive[], outer: Scope): Scope {
    const next: Scope = { ...outer };
    const hv = this.single(level, 'proxy_http_version');
    if (hv !== null) {
      const v = this.one(hv);
      // ngx_http_proxy_http_version[]: "1.0", "1.1", and from 1.29.4 "2" when built with the
      // http_v2 module (ngx_http_proxy_module.c, #if (NGX_HTTP_V2)); compat.ts says where "2" is refused.
      if (v === '1.0' || v === '1.1' || v === '2') {
        next.httpVersion = v;
        next.httpVersionAt = at(hv);
        if (v === '2') this.uses('proxy_http_version_2', hv, null);
      } else if (v !== null) this.problem(hv, `invalid value "${v}" in "proxy_http_version" directive: it must be "1.0", "1.1" or (from 1.29.4) "2"`);
    }
    const bind = this.single(level, 'proxy_bind');
    if (bind !== null) {
      if (bind.args.length === 0 || bind.args.length > 2) this.problem(bind, 'invalid number of arguments in "proxy_bind" directive');
      else {
        next.bind = bind.args.join(' ');
        next.bindAt = at(bind);
      }
    }
    const headers = level.filter((d) => d.name === 'proxy_set_header' && d.block === undefined);
    if (headers.length > 0) {
      next.headers = [];
      for (const h of headers) {
        if (h.args.length !== 2) this.problem(h, 'invalid number of arguments in "proxy_set_header" directive: it takes a field name and a value');
        else next.headers.push({ name: h.args[0]!, value: h.args[1]! });
      }
    }
    return next;
  }

  httpLevel(level: readonly Directive[]): void {
    const scope = this.scope(level, NO_SCOPE);
    for (const s of level) if (s.name === 'server' && s.block !== undefined) this.httpServer(s, scope);
  }

  httpServer(s: Directive, outer: Scope): void {
    const block = s.block!;
    const scope = this.scope(block, outer);
    const listen = block.find((d) => d.name === 'listen');
    const name = block.find((d) => d.name === 'server_name')?.args[0] ?? '';
    // Named by server_name; without one, by its listen address when it has one (`listen 10.0.0.1:8080`), else `*:port`.
    const addr = listen?.args[0];
    const shown = name !== '' ? `${name}:${listenPort(addr)}` : addr !== undefined && !addr.startsWith('unix:') && /^(\[[^\]]+\]|[^:]+):\d+$/.test(addr) && !addr.startsWith('*:') ? addr : `*:${listenPort(addr)}`;
    const ctx = serverContext(`server ${shown}`);
    this.locations(block.filter((d) => d.block !== undefined && d.name === 'location'), scope, ctx);
    for (const d of block) if (d.name === 'proxy_pass') this.problem(d, '"proxy_pass" directive is not allowed here: it belongs in a location');
  }

  /**
   * Locations, nested locations, `if` and `limit_except`, depth first in file
   * order. Iterative, with its own stack: locations nested thousands deep must
   * not exhaust the call stack.
   */
  locations(top: readonly Directive[], outer: Scope, serverCtx: Context): void {
    const stack: { d: Directive; outer: Scope; parent: Context }[] = [...top].reverse().map((d) => ({ d, outer, parent: serverCtx }));
    while (stack.length > 0) {
      const { d, outer: enclosing, parent } = stack.pop()!;
      const block = d.block!;
      const scope = this.scope(block, enclosing);
      const ctx = nestedContext(parent, `${d.name} ${d.args.join(' ')}`.trimEnd());
      const passes = block.filter((x) => x.name === 'proxy_pass' && x.block === undefined);
      for (const p of passes.slice(1)) this.problem(p, `"proxy_pass" directive is duplicate (first at ${passes[0]!.file}:${passes[0]!.line})`);
      if (passes.length > 0) {
        const text = contextText(ctx);
        for (const p of passes) this.httpProxyPass(p, scope, text);
      }
      const nested = block.filter((x) => x.block !== undefined && (x.name === 'location' || x.name === 'if' || x.name === 'limit_except'));
      for (let k = nested.length - 1; k >= 0; k--) stack.push({ d: nested[k]!, outer: scope, parent: ctx });
    }
  }

  httpProxyPass(d: Directive, scope: Scope, context: string): void {
    const target = this.one(d);
    if (target === null) return;
    const hasVariables = target.includes('$');
    const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(target);
    const scheme = m === null ? '' : m[1]!.toLowerCase();
    const connection = scope.headers === null ? null : (scope.headers.filter((h) => h.name.toLowerCase() === 'connection').pop()?.value ?? null);
    const pass: ProxyPass = {
      target,
      scheme,
      upstream: null,
      host: null,
      port: null,
      hasVariables,
      httpVersion: scope.httpVersion,
      httpVersionAt: scope.httpVersionAt,
      connectionHeader: connection,
      bind: scope.bind === 'off' ? null : scope.bind,
      bindAt: scope.bind === 'off' ? null : scope.bindAt,
      context,
      at: at(d),
      module: 'http',
      upstreamCandidates: [],
    };
    if (hasVariables) {
      pass.upstreamCandidates = this.candidates(m === null ? target : target.slice(m[0].length), 'http');
    } else if (scheme !== 'http' && scheme !== 'https') {
      this.problem(d, `invalid URL prefix in "${target}": proxy_pass takes http:// or https://`);
      return;
    } else {
      const rest = target.slice(m![0].length);
      // `unix:/path:/uri`: the socket path runs to the next ":" (ngx_parse_unix_domain_url).
      const hostPort = /^unix:/i.test(rest) ? `unix:${rest.slice(5).split(':', 1)[0]!}` : rest.split(/[/?]/, 1)[0]!;
      if (!this.resolveTarget(d, pass, hostPort, scheme === 'https' ? 443 : 80, 'http')) return;
    }
    this.proxyPasses.push(pass);
  }

  /**
   * Fills upstream or host/port from `host[:port]`, `[v6]:port` or `unix:…`.
   * False when nginx would refuse the target.
   */
  resolveTarget(d: Directive, pass: ProxyPass, hostPort: string, defaultPort: number | null, module: NginxModule): boolean {
    const ep = parseEndpoint(hostPort);
    if ('error' in ep) {
      this.problem(d, `${ep.error} in "${pass.target}"`);
      return false;
    }
    if (ep.kind === 'unix') return true;
    const group = this.group(ep.host, module);
    if (group !== undefined && !hostPort.startsWith('[')) {
      if (ep.port !== null) {
        this.problem(d, `upstream "${group.name}" may not have port ${ep.port} in "${pass.target}"`);
        return false;
      }
      pass.upstream = group.name;
      return true;
    }
    pass.host = ep.host;
    pass.port = ep.port ?? defaultPort;
    if (pass.port === null) {
      this.problem(d, `no port in "${pass.target}" and no upstream group of that name`);
      return false;
    }
    return true;
  }

  /**
   * Upstream groups a variable host may name: the target's host is one variable
   * (`$v` or `${v}`), followed by nothing, a path, arguments or a URI variable
   * (`http://$pool$request_uri`), and that variable is set by map or split_clients.
   */
  candidates(afterScheme: string, module: NginxModule): string[] {
    const m = /^\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))(.*)$/s.exec(afterScheme);
    if (m === null) return [];
    const rest = m[3]!;
    if (!(rest === '' || rest.startsWith('/') || rest.startsWith('?') || URI_VARIABLES.test(rest))) return [];
    const name = `$${m[1] ?? m[2]!}`;
    const values = [
      ...this.maps.filter((x) => x.variable === name).flatMap((x) => x.values),
      ...this.splitClients.filter((x) => x.variable === name).flatMap((x) => x.values),
    ];
    return distinct(values.map((val) => this.group(val, module)?.name).filter((g): g is string => g !== undefined));
  }

  streamLevel(level: readonly Directive[]): void {
    const scope = this.scope(level.filter((d) => d.name === 'proxy_bind'), NO_SCOPE);
    for (const s of level) {
      if (s.name !== 'server' || s.block === undefined) continue;
      const block = s.block;
      const inner = this.scope(block.filter((d) => d.name === 'proxy_bind'), scope);
      const listen = block.find((d) => d.name === 'listen');
      const udp = listen?.args.includes('udp') === true;
      const ctx = `stream server *:${listenPort(listen?.args[0])}${udp ? ' udp' : ''}`;
      for (const d of block.filter((x) => x.name === 'proxy_pass' && x.block === undefined)) {
        const target = this.one(d);
        if (target === null) continue;
        const pass: ProxyPass = {
          target,
          scheme: udp ? 'udp' : 'tcp',
          upstream: null,
          host: null,
          port: null,
          hasVariables: target.includes('$'),
          httpVersion: null,
          httpVersionAt: null,
          connectionHeader: null,
          bind: inner.bind === 'off' ? null : inner.bind,
          bindAt: inner.bind === 'off' ? null : inner.bindAt,
          context: ctx,
          at: at(d),
          module: 'stream',
          upstreamCandidates: [],
        };
        if (pass.hasVariables) pass.upstreamCandidates = this.candidates(target, 'stream');
        else if (!this.resolveTarget(d, pass, target, null, 'stream')) continue;
        this.proxyPasses.push(pass);
      }
    }
  }
}

/**
 * Where a directive sits: `server …`, then each enclosing location. Nesting may be
 * thousands deep, so a level keeps only the first and last CONTEXT_ENDS labels,
 * built from its parent's in constant time.
 */
interface Context {
  /** The first labels from the server down (at most CONTEXT_ENDS). */
  head: readonly string[];
  /** The last labels, innermost last (at most CONTEXT_ENDS). */
  tail: readonly string[];
  /** Levels in all, the server's included. */
  levels: number;
}

/** Levels shown at each end of a context; deeper nesting is elided in the middle. */
const CONTEXT_ENDS = 3;

function serverContext(label: string): Context {
  return { head: [label], tail: [label], levels: 1 };
}

function nestedContext(parent: Context, label: string): Context {
  return {
    head: parent.head.length < CONTEXT_ENDS ? [...parent.head, label] : parent.head,
    tail: [...parent.tail, label].slice(-CONTEXT_ENDS),
    levels: parent.levels + 1,
  };
}

/** `server example.com:80 > location /api > if ($x)`; past 2 × CONTEXT_ENDS levels the middle is elided. */
function contextText(c: Context): string {
  if (c.levels <= 2 * CONTEXT_ENDS) return [...c.head, ...c.tail.slice(c.tail.length - (c.levels - c.head.length))].join(' > ');
  return [...c.head, `… ${c.levels - 2 * CONTEXT_ENDS} more levels …`, ...c.tail].join(' > ');
}

/** The port of a `listen` argument (`80`, `127.0.0.1:8080`, `[::]:443`, `*:80`, `unix:…`); 80 when absent. */
function listenPort(arg: string | undefined): string {
  if (arg === undefined) return '80';
  if (arg.startsWith('unix:')) return arg;
  if (/^\d+$/.test(arg)) return arg;
  const m = /:(\d+)$/.exec(arg);
  return m === null ? '80' : m[1]!;
}

/** Variables that hold a request's URI or arguments: after a host variable they are not part of the host. */
const URI_VARIABLES = /^\$\{?(request_uri|uri|document_uri|is_args|args|query_string)(?![A-Za-z0-9_])/;

function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** Problems (or versioned uses) by file, in the order the files were read, then line; a stable sort keeps the rest in the order found. */
function inFileOrder<T extends { file: string; line: number | null } | { at: SourceLocation }>(items: T[], files: readonly string[]): T[] {
  const index = new Map(files.map((f, k) => [f, k]));
  const place = (x: T): SourceLocation | { file: string; line: number | null } => ('at' in x ? x.at : x);
  const rank = (f: string): number => index.get(f) ?? files.length;
  return [...items].sort((a, b) => rank(place(a).file) - rank(place(b).file) || (place(a).line ?? 0) - (place(b).line ?? 0));
}

/** Builds the model from an assembled configuration (see parse/includes.ts assembleConfig). */
export function extractModel(config: AssembledConfig): NginxConfigModel {
  const x = new Extractor();
  x.main(config.directives);
  return {
    files: [...config.files],
    problems: [...config.problems, ...inFileOrder(x.problems, config.files)],
    upstreams: x.upstreams,
    proxyPasses: x.proxyPasses,
    workerProcesses: x.workerProcesses,
    workerConnections: x.workerConnections,
    workerRlimitNofile: x.workerRlimitNofile,
    splitClients: x.splitClients,
    maps: x.maps,
    versioned: inFileOrder(x.versioned, config.files),
  };
}
