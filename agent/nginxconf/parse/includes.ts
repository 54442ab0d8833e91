/**
 * `include`, as nginx follows it, on top of an injected file source (the disk
 * through the reader, or the files of an `nginx -T` dump). Pure.
 *
 * How nginx resolves an include (src/core/ngx_conf_file.c, ngx_conf_include, and
 * src/core/nginx.c, ngx_process_options):
 *
 * - The argument is made a full name by ngx_conf_full_name(cycle, name,
 *   conf_prefix=1): an absolute path stays as it is; a relative one is put after
 *   the *conf prefix*, which ngx_process_options() sets to the directory of the
 *   main configuration file (the `-c` file). So a relative include is relative to
 *   the main file's directory, whichever file the include is written in.
 * - If the full name contains none of `*?[` (strpbrk), nginx opens exactly that
 *   file, and a missing file is an error.
 * - Otherwise it is a glob(3) pattern (ngx_open_glob in src/os/unix/ngx_files.c
 *   calls glob() with no flags and allows no match): the matches are read in the
 *   order glob() sorts them, and a pattern that matches nothing includes nothing.
 *   Wildcards may appear in any path component. The dialect (no leading-dot
 *   match without GLOB_PERIOD, backslash escapes without GLOB_NOESCAPE, byte
 *   order) is agent/core/glob.ts.
 *
 * nginx has no guard against an include cycle (it recurses until it runs out of
 * file descriptors); the agent reports the cycle and stops following it, and caps
 * the include depth, the number of files and the number of directives.
 */
import { hasWildcard } from '../../core/glob.js';
import type { ConfigProblem } from '../model/types.js';
import type { Directive, ParsedFile } from './parse.js';

/** nginx treats an include argument as a pattern when it contains any of `*?[` (strpbrk in ngx_conf_include). */
export function isIncludePattern(path: string): boolean {
  return hasWildcard(path);
}

/** The conf prefix nginx derives from the main file's full name: its directory, with a trailing "/". */
export function confPrefixOf(mainFile: string): string {
  const slash = mainFile.lastIndexOf('/');
  return slash === -1 ? '' : mainFile.slice(0, slash + 1);
}

/** ngx_conf_full_name(…, conf_prefix=1): absolute paths stay, relative ones go after the conf prefix. */
export function fullIncludePath(arg: string, confPrefix: string): string {
  return arg.startsWith('/') ? arg : confPrefix + arg;
}

/** Where the included files come from. */
export interface IncludeSource {
  /**
   * The files a full include path names: for a pattern, its matches in glob(3)
   * order (possibly none); for a plain path, that path.
   */
  expand(fullPath: string): string[];
  /** The parsed file, or why it cannot be read (one short phrase: "does not exist", "permission denied"…). */
  load(path: string): ParsedFile | { error: string };
}

export interface AssembleLimits {
  /** Includes nested deeper than this are not followed. */
  maxIncludeDepth: number;
  /** Distinct files read at most. */
  maxFiles: number;
  /** Directives in the assembled tree at most (a file included many times over can multiply them). */
  maxDirectives: number;
}

export const DEFAULT_ASSEMBLE_LIMITS: AssembleLimits = { maxIncludeDepth: 16, maxFiles: 2000, maxDirectives: 500_000 };

export interface AssembledConfig {
  /** The main file's directives with every `include` replaced by the included files' directives. */
  directives: Directive[];
  /** Files read, main file first, each once. */
  files: string[];
  problems: ConfigProblem[];
}

/**
 * Follows every `include` from the main file, depth first in file order as nginx
 * does, and splices the included directives in place of the `include`.
 */
export function assembleConfig(mainFile: string, source: IncludeSource, limits: AssembleLimits = DEFAULT_ASSEMBLE_LIMITS): AssembledConfig {
  const problems: ConfigProblem[] = [];
  const files: string[] = [];
  const loaded = new Map<string, ParsedFile | { error: string }>();
  const prefix = confPrefixOf(mainFile);
  let directiveCount = 0;
  let directivesCapped = false;

  const load = (path: string): ParsedFile | { error: string } => {
    const cached = loaded.get(path);
    if (cached !== undefined) return cached;
    if (files.length >= limits.maxFiles) return { error: `was not read: more than ${limits.maxFiles} configuration files` };
    const got = source.load(path);
    loaded.set(path, got);
    if (!('error' in got)) {
      files.push(path);
      problems.push(...got.problems);
    }
    return got;
  };

  /*
   * The walk is iterative, with its own stack of frames: a configuration nested
   * thousands of levels deep (blocks or includes) must not exhaust the call stack
   * and lose the whole model. A list frame copies one directive list into `out`;
   * a block gets a fresh copy of its directive whose `block` the child frame
   * fills. An include frame reads its files one at a time, when the previous
   * one is spliced, so files are read (and listed) in nginx's depth-first order.
   */
  type Frame =
    | { kind: 'list'; list: readonly Directive[]; next: number; out: Directive[]; chain: readonly string[] }
    | { kind: 'include'; d: Directive; arg: string; paths: string[]; next: number; out: Directive[]; chain: readonly string[] };

  const includeFrame = (d: Directive, out: Directive[], chain: readonly string[]): Frame | null => {
    const arg = d.args[0];
    if (arg === undefined || d.args.length !== 1) {
      problems.push({ file: d.file, line: d.line, message: 'invalid number of arguments in "include" directive: it takes one file name or pattern' });
      return null;
    }
    if (chain.length > limits.maxIncludeDepth) {
      problems.push({ file: d.file, line: d.line, message: `include "${arg}" not followed: includes are nested more than ${limits.maxIncludeDepth} deep` });
      return null;
    }
    return { kind: 'include', d, arg, paths: source.expand(fullIncludePath(arg, prefix)), next: 0, out, chain };
  };

  /** The next file of an include frame as a list frame, or null when it is not to be followed (reported). */
  const nextIncluded = (f: Extract<Frame, { kind: 'include' }>): Frame | null => {
    const path = f.paths[f.next++]!;
    const { d, arg, chain } = f;
    if (chain.includes(path)) {
      problems.push({ file: d.file, line: d.line, message: `include "${arg}" not followed: it would include ${path} inside itself (${[...chain, path].join(' → ')})` });
      return null;
    }
    const got = load(path);
    if ('error' in got) {
      problems.push({ file: d.file, line: d.line, message: `include "${arg}": ${path} ${got.error}` });
      return null;
    }
    return { kind: 'list', list: got.directives, next: 0, out: f.out, chain: [...chain, path] };
  };

  const splice = (list: readonly Directive[], chain: readonly string[]): Directive[] => {
    const root: Directive[] = [];
    const stack: Frame[] = [{ kind: 'list', list, next: 0, out: root, chain }];
    while (stack.length > 0) {
      const f = stack[stack.length - 1]!;
      if (directivesCapped) {
        stack.pop();
        continue;
      }
      if (f.kind === 'include') {
        if (f.next >= f.paths.length) stack.pop();
        else {
          const child = nextIncluded(f);
          if (child !== null) stack.push(child);
        }
        continue;
      }
      if (f.next >= f.list.length) {
        stack.pop();
        continue;
      }
      const d = f.list[f.next++]!;
      if (directiveCount >= limits.maxDirectives) {
        directivesCapped = true;
        problems.push({ file: d.file, line: d.line, message: `more than ${limits.maxDirectives} directives: the rest of the configuration is not read` });
        continue;
      }
      if (d.name === 'include' && d.block === undefined) {
        const inc = includeFrame(d, f.out, f.chain);
        if (inc !== null) stack.push(inc);
        continue;
      }
      directiveCount++;
      if (d.block === undefined) f.out.push(d);
      else {
        const block: Directive[] = [];
        f.out.push({ ...d, block });
        stack.push({ kind: 'list', list: d.block, next: 0, out: block, chain: f.chain });
      }
    }
    return root;
  };

  const main = load(mainFile);
  if ('error' in main) {
    problems.push({ file: mainFile, line: null, message: `${mainFile} ${main.error}` });
    return { directives: [], files, problems };
  }
  const directives = splice(main.directives, [mainFile]);
  return { directives, files, problems };
}

/** Every `include` argument in a tree, with where it is written (for a reader that loads files ahead). */
export function includeArguments(list: readonly Directive[]): { arg: string; file: string; line: number }[] {
  const out: { arg: string; file: string; line: number }[] = [];
  // Depth first in file order, with an explicit stack (no recursion: blocks may nest thousands deep).
  const stack: { list: readonly Directive[]; next: number }[] = [{ list, next: 0 }];
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    const d = f.list[f.next++];
    if (d === undefined) {
      stack.pop();
      continue;
    }
    if (d.name === 'include' && d.block === undefined && d.args.length === 1) out.push({ arg: d.args[0]!, file: d.file, line: d.line });
    if (d.block !== undefined) stack.push({ list: d.block, next: 0 });
  }
  return out;
}
