/** os-release(5) as the report header names the distribution. */
import { describe, expect, it } from 'vitest';
import { distroName, parseOsRelease } from '../../../agent/host/parse/osRelease.js';

describe('os-release', () => {
  it.each([
    ['Debian 12 (quoted NAME, bare VERSION_ID)', 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n', 'Debian GNU/Linux 12'],
    ['Alpine (no quotes)', 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\n', 'Alpine Linux 3.20.3'],
    ['a rolling release without VERSION_ID', 'NAME="Arch Linux"\nID=arch\n', 'Arch Linux'],
    ['only ID', 'ID=distroless\n', 'distroless'],
    ['comments, blank lines and escaped quotes', '# comment\n\nNAME="A \\"quoted\\" name"\nVERSION_ID=\'1\'\n', 'A "quoted" name 1'],
    ['nothing usable', 'garbage\n=x\n', ''],
  ])('%s', (_title, text, expected) => {
    expect(distroName(parseOsRelease(text))).toBe(expected);
  });
});
