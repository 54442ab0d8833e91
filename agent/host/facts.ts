/**
 * Host facts for the report header: host name, kernel, distribution and
 * addresses. Read from the kernel (os.hostname(), os.release()) and
 * /etc/os-release, which every systemd-era distribution ships, so a diagnose run
 * spawns no process for them. systeminformation earns its place only where
 * os-release is missing (old or minimal systems, where it falls back to
 * lsb_release and friends); it is loaded only then. Best effort: a failure or a
 * slow answer leaves the header without them.
 */
import { readFileSync } from 'node:fs';
import { hostname, networkInterfaces, release } from 'node:os';
import type { HostFacts } from './model/types.js';
import { distroName, parseOsRelease } from './parse/osRelease.js';

/** Where os-release(5) says to look, in order. */
const OS_RELEASE_FILES = ['/etc/os-release', '/usr/lib/os-release'];

function distroFromOsRelease(): string | null {
  for (const file of OS_RELEASE_FILES) {
    try {
      return distroName(parseOsRelease(readFileSync(file, 'utf8')));
    } catch {
      // Try the next one.
    }
  }
  return null;
}

/** Without os-release: systeminformation's own probing (lsb_release, /etc/*-release, …). */
async function distroFromSysteminformation(): Promise<string> {
  const { default: si } = await import('systeminformation');
  const os = await si.osInfo();
  return [os.distro, os.release].filter((x) => x !== '' && x !== 'unknown').join(' ');
}

/** The first IPv4 and the first IPv6 address of each interface, as systeminformation listed them. */
function interfaceAddresses(): string[] {
  const out: string[] = [];
  for (const addresses of Object.values(networkInterfaces())) {
    const v4 = addresses?.find((a) => a.family === 'IPv4');
    const v6 = addresses?.find((a) => a.family === 'IPv6');
    if (v4 !== undefined) out.push(v4.address);
    if (v6 !== undefined) out.push(v6.address);
  }
  return out;
}

export async function readHostFacts(timeoutMs = 3000): Promise<HostFacts | null> {
  const work = (async (): Promise<HostFacts> => ({
    hostname: hostname(),
    kernel: release(),
    distro: distroFromOsRelease() ?? (await distroFromSysteminformation()),
    addresses: interfaceAddresses(),
  }))();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => {
      resolve(null);
    }, timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([work, timeout]);
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}
