/** A small HTTP(S) client for tests that need client certificates, raw methods or exact headers. */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** TLS: CA to trust, client certificate and key. */
  ca?: string;
  cert?: string;
  key?: string;
  timeoutMs?: number;
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** Resolves with the answer, rejects when the connection fails or is closed without one. */
export function request(url: string, options: RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const common = { method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false as const };
    const req =
      u.protocol === 'https:'
        ? httpsRequest(u, {
            ...common,
            ...(options.ca !== undefined ? { ca: options.ca } : {}),
            ...(options.cert !== undefined ? { cert: options.cert } : {}),
            ...(options.key !== undefined ? { key: options.key } : {}),
          })
        : httpRequest(u, common);
    req.setTimeout(options.timeoutMs ?? 5000, () => {
      req.destroy(new Error(`no answer from ${url} within ${options.timeoutMs ?? 5000} ms`));
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
      res.on('error', reject);
    });
    req.end();
  });
}
