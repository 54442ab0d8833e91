/**
 * Reading nginx's version out of its binary as a file, never running it: the
 * bytes are scanned for the `nginx -v` line compiled into it
 * (parse/binaryVersion.ts). I/O only: opened read-only as a regular file
 * through io/files.ts, read in chunks with an overlap so the string is never
 * cut in two, with a cap on the bytes read.
 */
import type { FileHandle } from 'node:fs/promises';
import { describeFileError, errnoCode, openRegularFileAsync } from '../../io/files.js';
import { BINARY_SCAN_OVERLAP, findNginxVersionInBinary } from '../parse/binaryVersion.js';
import type { NginxVersion } from '../model/version.js';

const CHUNK = 1024 * 1024;
/** nginx is a few MB; a static build with every module tens of MB. Beyond this the file is not nginx. */
export const MAX_BINARY_BYTES = 256 * 1024 * 1024;

export type BinaryVersionRead = ({ ok: true } & NginxVersion) | { ok: false; error: string; code: string };

/** The version string in the file at `path`. Never throws. */
export async function readVersionFromBinary(path: string): Promise<BinaryVersionRead> {
  let fh: FileHandle | undefined;
  try {
    fh = (await openRegularFileAsync(path)).handle;
    const buf = Buffer.alloc(CHUNK + BINARY_SCAN_OVERLAP);
    let kept = 0;
    for (let pos = 0; pos < MAX_BINARY_BYTES; ) {
      const { bytesRead } = await fh.read(buf, kept, CHUNK, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      const filled = kept + bytesRead;
      const found = findNginxVersionInBinary(buf.subarray(0, filled));
      if (found !== null) return { ok: true, ...found };
      kept = Math.min(BINARY_SCAN_OVERLAP, filled);
      buf.copy(buf, 0, filled - kept, filled);
    }
    return { ok: false, error: 'holds no "nginx version: …" string (not an nginx binary?)', code: 'ENOVERSION' };
  } catch (err) {
    return { ok: false, error: describeFileError(err), code: errnoCode(err) };
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
