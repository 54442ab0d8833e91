/**
 * deploy/systemd/nginx-port-agent.service: the hardening docs/deploying.md promises,
 * and an ExecStart that matches the package (npm's global install path, the
 * daemon's V8 flags). systemd itself checks the unit in
 * test/system/deploy/tools.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DAEMON_NODE_FLAGS } from '../../../agent/nodeFlags.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const UNIT = readFileSync(join(REPO, 'deploy/systemd/nginx-port-agent.service'), 'utf8');
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { name: string; bin: { agent: string } };

/** Section → key → every value given, in order (systemd keys may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!kv || !current) throw new Error(`not a unit-file line: ${line}`);
    current.set(kv[1]!, [...(current.get(kv[1]!) ?? []), kv[2]!]);
  }
  return sections;
}

describe('systemd unit', () => {
  const unit = parseUnit(UNIT);
  const service = unit.get('Service')!;
  const one = (key: string): string | undefined => service.get(key)?.at(-1);

  it('starts the globally installed package with the daemon V8 flags', () => {
    expect(one('ExecStart')).toBe(['node', ...DAEMON_NODE_FLAGS, `/usr/local/lib/node_modules/${pkg.name}/${pkg.bin.agent}`, 'run'].join(' '));
    expect(unit.get('Install')?.get('WantedBy')).toEqual(['multi-user.target']);
  });

  it("runs as a dynamic user in group adm, with no capabilities and a read-only system", () => {
    expect(one('DynamicUser')).toBe('yes');
    expect(one('SupplementaryGroups')?.split(/\s+/)).toContain('adm');
    expect(one('CapabilityBoundingSet')).toBe('');
    expect(one('AmbientCapabilities')).toBe('');
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('ProtectSystem')).toBe('strict');
    for (const key of ['ProtectHome', 'PrivateTmp', 'PrivateDevices', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectControlGroups', 'RestrictSUIDSGID', 'LockPersonality']) {
      expect(one(key), key).toBe('yes');
    }
    expect(one('SystemCallFilter')).toBe('@system-service');
  });

  it("keeps what the agent needs: the host's network namespace, /proc/sys, JIT pages, IP sockets", () => {
    expect(service.has('PrivateNetwork')).toBe(false);
    expect(one('ProcSubset') ?? 'all').toBe('all');
    expect(one('MemoryDenyWriteExecute') ?? 'no').toBe('no');
    expect(one('RestrictAddressFamilies')?.split(/\s+/)).toEqual(expect.arrayContaining(['AF_INET', 'AF_INET6']));
  });
});
