// `npm start` builds first when dist/ is missing or older than the sources, so a
// fresh clone needs only `npm ci && npm start`.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const entry = 'dist/agent/main.js';
if (!existsSync(entry) || statSync(entry).mtimeMs < newest('agent')) {
  process.stderr.write('building (tsc, then the diagnose bundle)…\n');
  execSync('npm run build', { stdio: 'inherit' });
}
