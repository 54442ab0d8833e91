/**
 * os-release(5): the distribution's identification, shell-style KEY=value lines
 * with optional quotes. Pure.
 */

/** KEY → value of an os-release file; quotes and the escapes os-release(5) allows are undone. */
export function parseOsRelease(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    let value = line.slice(eq + 1);
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\([\\$"`])/g, '$1');
    }
    out.set(line.slice(0, eq), value);
  }
  return out;
}

/** "Debian GNU/Linux 12", as the report header names a distribution: NAME and VERSION_ID. */
export function distroName(release: ReadonlyMap<string, string>): string {
  return [release.get('NAME') ?? release.get('ID') ?? '', release.get('VERSION_ID') ?? ''].filter((x) => x !== '').join(' ');
}
