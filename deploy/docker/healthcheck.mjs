// The image's HEALTHCHECK: GET /healthz on the address the agent listens on.
// The address comes from NGINX_PORT_AGENT_LISTEN, else from the config file
// named by NGINX_PORT_AGENT_CONFIG, else the default; a --listen flag given as
// the container's command is not visible here, so set the address through the
// environment when it is not the default.
//
// With a web configuration (NGINX_PORT_AGENT_WEB_CONFIG_FILE) the check speaks
// TLS when the file has tls_server_config (without verifying the certificate:
// it only asks whether the process answers on its own port), and counts a 401
// (basic auth on) or a TLS alert asking for a client certificate as alive: the
// check has no credentials, and liveness is all it reports.
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';

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

/** Whether the web configuration file turns TLS on; null when there is none. */
function webConfigUsesTls(env) {
  const file = env.NGINX_PORT_AGENT_WEB_CONFIG_FILE;
  if (!file) return null;
  try {
    // A top-level `tls_server_config:` key (YAML); the agent validates the file itself at start.
    return /^tls_server_config\s*:/m.test(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}

function httpsStatus(url) {
  return new Promise((resolve) => {
    const req = httpsRequest(url, { rejectUnauthorized: false, timeout: 4000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    // The server answered the handshake but wants a client certificate: it is alive.
    req.on('error', (err) => resolve(/ALERT_CERTIFICATE_REQUIRED|ALERT_HANDSHAKE_FAILURE|ALERT_BAD_CERTIFICATE/.test(err.code ?? err.message) ? 401 : 0));
    req.end();
  });
}

async function main() {
  const url = healthzUrl(configuredListen(process.env));
  if (url === null) return 1;
  const tls = webConfigUsesTls(process.env);
  const alive = (status) => status === 200 || (tls !== null && status === 401);
  try {
    if (tls === true) return alive(await httpsStatus(url.replace(/^http:/, 'https:'))) ? 0 : 1;
    const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
    return alive(res.status) ? 0 : 1;
  } catch {
    return 1;
  }
}

process.exitCode = await main();
