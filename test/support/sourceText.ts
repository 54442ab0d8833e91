/** Reading the agent's own source in tests that scan it. */

/**
 * Source text with comments removed, so that scanners see code only. Strings are
 * kept whole: the scanners need module specifiers, flags and message texts.
 */
export function codeOnly(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      i = text.indexOf('*/', i + 2);
      i = i < 0 ? text.length : i + 2;
    } else if (c === "'" || c === '"' || c === '`') {
      // Keep the quotes and the contents of module specifiers and flags: scanners need them.
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
