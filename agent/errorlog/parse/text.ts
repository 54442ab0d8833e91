/**
 * Text that outlives the line it came from. The readers hand out lines that may
 * be views of a whole chunk of the log (io/decode.ts): whatever keeps a piece of
 * a line (a sample, a name to count by) keeps its own copy.
 */

/**
 * The same text in a string of its own, not a view of a larger one (a view of 13
 * or more characters keeps its parent alive, and String.prototype.startsWith
 * compares with a view slower than with a plain string). A Latin-1 round trip
 * copies it; a text it would change (a character above U+00FF) was decoded on
 * its own in the first place and is returned as it is.
 */
export function ownCopy(s: string): string {
  if (s.length < 13) return s;
  const copy = Buffer.from(s, 'latin1').toString('latin1');
  return copy === s ? copy : s;
}
