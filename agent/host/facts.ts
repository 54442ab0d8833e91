/**
 * Host facts for the report header, read once through systeminformation. Best
 * effort: a failure or a slow answer leaves the header without them.
 */
import si from 'systeminformation';
import type { HostFacts } from './model/types.js';

export async function readHostFacts(timeoutMs = 3000): Promise<HostFacts | null> {
  const work = (async (): Promise<HostFacts> => {
    const [os, ifaces] = await Promise.all([si.osInfo(), si.networkInterfaces()]);
    const list = Array.isArray(ifaces) ? ifaces : [ifaces];
    const addresses = list
      .flatMap((i) => [i.ip4, i.ip6])
      .filter((a): a is string => typeof a === 'string' && a !== '');
    return {
      hostname: os.hostname,
      kernel: os.kernel,
      distro: [os.distro, os.release].filter((x) => x !== '' && x !== 'unknown').join(' '),
      addresses,
    };
  })();
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
