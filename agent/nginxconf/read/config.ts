/**
 * Reading nginx's configuration: the main file and everything it includes, or a
 * saved `nginx -T` output, into an NginxConfigModel, and resolving the host names
 * it names. The only module of agent/nginxconf that touches the disk or DNS for
 * the configuration; everything it reads goes through the pure parser, include
 * assembler and model extractor.
 *
 * - The configuration is input: files are opened read-only, only regular files
 *   are read, nothing is written and nothing in them is run.
 * - Relative includes resolve against the main file's directory, nginx's conf
 *   prefix (see parse/includes.ts for the nginx source behind this).
 * - The main file is `nginx -T` output when its first line (after any "nginx: "
 *   messages) is `# configuration file /…:`; includes then resolve against the
 *   dumped files, never the disk (see parse/dumpT.ts).
 * - A bad configuration never throws: a missing include, a syntax error, an
 *   unreadable or oversized file, an include cycle become problems with the file
 *   and line (the include's, for an included file that cannot be read), and
 *   whatever could be read is modelled.
 *
 * Use:
 *
 *     const read = await readNginxConfig('/etc/nginx/nginx.conf', { dnsTimeoutMs: 2000 });
 *     read.model.upstreams; read.model.problems;
 *     mapDestinations(['10.0.0.5:8080'], read.model, read.dns.resolved);
 */
import { resolve as resolvePath } from 'node:path';
import { compareGlobOrder, globMatches } from '../../core/glob.js';
import { openReadOnly, type OpenFileAsync } from '../../io/files.js';
import { extractModel } from '../model/extract.js';
import { hostsToResolve } from '../model/destinations.js';
import type { ConfigProblem, HostResolution, NginxConfigModel, NginxConfigRead } from '../model/types.js';

export type { NginxConfigRead } from '../model/types.js';
import { looksLikeNginxDump, splitNginxDump } from '../parse/dumpT.js';
import {
  assembleConfig,
  confPrefixOf,
  DEFAULT_ASSEMBLE_LIMITS,
  fullIncludePath,
  includeArguments,
  isIncludePattern,
  type AssembledConfig,
  type AssembleLimits,
  type IncludeSource,
} from '../parse/includes.js';
import { parseConfig, type ParsedFile } from '../parse/parse.js';
import { expandIncludeOnDisk, readConfigFile } from './files.js';
import { resolveHosts, systemLookup, type LookupAll } from './resolve.js';

export interface ConfigReadLimits extends AssembleLimits {
  /** Largest single file read, in bytes (also the largest `nginx -T` output). */
  maxFileBytes: number;
  /** Most bytes read over all files. */
  maxTotalBytes: number;
}

export const DEFAULT_CONFIG_READ_LIMITS: ConfigReadLimits = {
  ...DEFAULT_ASSEMBLE_LIMITS,
  maxFileBytes: 16 * 1024 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
};

export interface ReadNginxConfigOptions {
  /** Time limit per host name lookup, in ms (config key dnsTimeoutMs). Default 2000. */
  dnsTimeoutMs?: number;
  /** Resolve host names (default true). */
  resolveHosts?: boolean;
  limits?: Partial<ConfigReadLimits>;
  /** Injected for tests: the host lookup (default dns.lookup with all: true). */
  lookup?: LookupAll;
  /** Injected for tests: how files are opened (default fs.promises.open). */
  openFile?: OpenFileAsync;
}


/** Reads the configuration at `path` (main file or `nginx -T` output). Never throws. */
export async function readNginxConfig(path: string, options: ReadNginxConfigOptions = {}): Promise<NginxConfigRead> {
  const limits: ConfigReadLimits = { ...DEFAULT_CONFIG_READ_LIMITS, ...options.limits };
  const full = resolvePath(path);
  let model: NginxConfigModel;
  let source: 'files' | 'dump' = 'files';
  try {
    const read = await readTree(full, limits, options.openFile ?? openReadOnly);
    source = read.source;
    model = extractModel(read.assembled);
  } catch (err) {
    // Only a defect can land here; it must not take the agent down with it.
    model = emptyModel([{ file: full, line: null, message: `the configuration could not be read: ${err instanceof Error ? err.message : String(err)}` }]);
  }
  let dns: HostResolution = { resolved: new Map(), failures: [] };
  if (options.resolveHosts !== false) {
    dns = await resolveHosts(hostsToResolve(model), options.dnsTimeoutMs ?? 2000, options.lookup ?? systemLookup);
  }
  return { model, source, path: full, dns };
}

export function emptyModel(problems: ConfigProblem[] = []): NginxConfigModel {
  return {
    files: [],
    problems,
    upstreams: [],
    proxyPasses: [],
    workerProcesses: null,
    workerConnections: null,
    workerRlimitNofile: null,
    splitClients: [],
    maps: [],
    versioned: [],
  };
}

async function readTree(
  mainFile: string,
  limits: ConfigReadLimits,
  openFile: OpenFileAsync,
): Promise<{ assembled: AssembledConfig; source: 'files' | 'dump' }> {
  const main = await readConfigFile(mainFile, limits.maxFileBytes, openFile);
  if (!main.ok) {
    return { assembled: { directives: [], files: [], problems: [{ file: mainFile, line: null, message: `${mainFile} ${main.error}` }] }, source: 'files' };
  }
  if (looksLikeNginxDump(main.text)) return fromDump(mainFile, main.text, limits);

  // Load every file reachable through includes first (I/O), then assemble (pure).
  const loaded = new Map<string, ParsedFile | { error: string }>([[mainFile, parseConfig(main.text, mainFile)]]);
  const expansions = new Map<string, string[]>();
  const prefix = confPrefixOf(mainFile);
  let totalBytes = main.bytes;
  const queue: ParsedFile[] = [loaded.get(mainFile) as ParsedFile];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const inc of includeArguments(file.directives)) {
      const fullPath = fullIncludePath(inc.arg, prefix);
      let paths = expansions.get(fullPath);
      if (paths === undefined) {
        paths = await expandIncludeOnDisk(fullPath);
        expansions.set(fullPath, paths);
      }
      for (const p of paths) {
        if (loaded.has(p)) continue;
        if (loaded.size >= limits.maxFiles) {
          loaded.set(p, { error: `was not read: more than ${limits.maxFiles} configuration files` });
          continue;
        }
        const r = await readConfigFile(p, limits.maxFileBytes, openFile);
        if (!r.ok) {
          loaded.set(p, { error: r.error });
          continue;
        }
        totalBytes += r.bytes;
        if (totalBytes > limits.maxTotalBytes) {
          loaded.set(p, { error: `was not read: the configuration files add up to more than ${limits.maxTotalBytes} bytes` });
          continue;
        }
        const parsed = parseConfig(r.text, p);
        loaded.set(p, parsed);
        queue.push(parsed);
      }
    }
  }
  const source: IncludeSource = {
    expand: (fullPath) => expansions.get(fullPath) ?? [fullPath],
    load: (p) => loaded.get(p) ?? { error: 'was not read' },
  };
  return { assembled: assembleConfig(mainFile, source, limits), source: 'files' };
}

function fromDump(dumpPath: string, text: string, limits: AssembleLimits): { assembled: AssembledConfig; source: 'dump' } {
  const split = splitNginxDump(text, dumpPath);
  const first = split.files[0];
  if (first === undefined) return { assembled: { directives: [], files: [], problems: split.problems }, source: 'dump' };
  const byPath = new Map(split.files.map((f) => [f.path, f]));
  const names = [...byPath.keys()];
  const source: IncludeSource = {
    expand: (fullPath) => (isIncludePattern(fullPath) ? names.filter((n) => globMatches(fullPath, n)).sort(compareGlobOrder) : [fullPath]),
    load: (p) => {
      const f = byPath.get(p);
      return f === undefined ? { error: `is not in the nginx -T output in ${dumpPath}` } : parseConfig(f.text, p);
    },
  };
  const assembled = assembleConfig(first.path, source, limits);
  return { assembled: { ...assembled, problems: [...split.problems, ...assembled.problems] }, source: 'dump' };
}
