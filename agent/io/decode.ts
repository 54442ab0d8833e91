/**
 * Bytes read from a log to strings. Decoding each line with its own call into
 * Buffer's C++ costs more than the copy itself; where a chunk of lines is all
 * ASCII (nginx's lines nearly always are), one call decodes the chunk and each
 * line is a view of that one string (V8 makes a substring of 13 or more
 * characters a slice of its parent, without copying). UTF-8 and Latin-1 read
 * ASCII bytes alike, so the lines are the ones a per-line UTF-8 decode gives; a
 * chunk with any other byte is left to that.
 *
 * A view keeps its whole chunk alive: a reader that keeps a line past its chunk
 * keeps its own copy (errorlog/parse/text.ts, ownCopy).
 */
import { isAscii } from 'node:buffer';

/** The bytes as one string when they are all ASCII, else null (decode those line by line as UTF-8). */
export function asciiText(bytes: Buffer): string | null {
  return isAscii(bytes) ? bytes.toString('latin1') : null;
}
