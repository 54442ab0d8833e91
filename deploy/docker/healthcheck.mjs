// The image's HEALTHCHECK: GET /healthz on the address the agent listens on.
// The address comes from NGINX_PORT_AGENT_LISTEN, else from the config file
// named by NGINX_PORT_AGENT_CONFIG, else the default; a --listen flag given as
// the container's command is not visible here, so set the address through the
// environment when it is not the default.
import { readFileSync } from 'node:fs';

const DEFAULT_LISTEN = '0.0.0.0:9842';

function configuredListen(env) {
  if (env.NGINX_PORT_AGENT_LISTEN) return env.NGINX_PORT_AGENT_LISTEN;
  if (env.NGINX_PORT_AGENT_CONFIG) {
    try {
      const listen = JSON.parse(readFileSync(env.NGINX_PORT_AGENT_CONFIG, 'utf8')).listen;
      if (typeof listen === 'string') return listen;
    } catch {
      // The agent itself refuses to start with an unreadable config file.
    }
  }
  return DEFAULT_LISTEN;
}

/** `host:port`, `[v6]:port` or `:port` → the URL of /healthz; a wildcard address is probed on loopback. */
function healthzUrl(listen) {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(listen);
  if (!m) return null;
  const v6 = m[1];
  const port = m[3];
  if (v6 !== undefined) return `http://[${v6 === '::' ? '::1' : v6}]:${port}/healthz`;
  const host = m[2] === '' || m[2] === '0.0.0.0' ? '127.0.0.1' : m[2];
  return `http://${host}:${port}/healthz`;
}

async function main() {
  const url = healthzUrl(configuredListen(process.env));
  if (url === null) return 1;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
    return res.status === 200 ? 0 : 1;
  } catch {
    return 1;
  }
}

process.exitCode = await main();
