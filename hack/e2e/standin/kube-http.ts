// A small JSON client for the Kubernetes API over HTTPS: requests, watches, and the credentials they use.
import { readFileSync } from 'node:fs';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** Where the API server is and who we are to it: a client certificate or a bearer token. */
export interface KubeAccess {
  server: string;
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
}

export class KubeHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'KubeHttpError';
  }
}

interface Kubeconfig {
  'current-context'?: string;
  contexts?: { name: string; context: { cluster: string; user: string } }[];
  clusters?: { name: string; cluster: { server: string; 'certificate-authority'?: string } }[];
  users?: { name: string; user: { 'client-certificate'?: string; 'client-key'?: string; token?: string } }[];
}

/** Reads the current context of a kubeconfig that names its files (the form hack/e2e/up.sh writes). */
export function accessFromKubeconfig(path: string): KubeAccess {
  const config = parseYaml(readFileSync(path, 'utf8')) as Kubeconfig;
  const context = config.contexts?.find((c) => c.name === config['current-context'])?.context;
  const cluster = config.clusters?.find((c) => c.name === context?.cluster)?.cluster;
  const user = config.users?.find((u) => u.name === context?.user)?.user;
  if (!cluster || !user) throw new Error(`${path}: no cluster or user for the current context`);
  const file = (p: string | undefined, what: string): Buffer => {
    if (!p) throw new Error(`${path}: the current context has no ${what}`);
    return readFileSync(resolve(dirname(path), p));
  };
  return {
    server: cluster.server,
    ca: file(cluster['certificate-authority'], 'certificate-authority'),
    ...(user.token
      ? { token: user.token }
      : { cert: file(user['client-certificate'], 'client-certificate'), key: file(user['client-key'], 'client-key') }),
  };
}

export type WatchEvent<T> = { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'; object: T };

export class KubeHttp {
  constructor(readonly access: KubeAccess) {}

  /** The same server and CA, as someone else (a service account's token). */
  as(token: string): KubeHttp {
    return new KubeHttp({ server: this.access.server, ca: this.access.ca, token });
  }

  private options(method: string, path: string, payload?: { type: string; length: number }): RequestOptions {
    const url = new URL(path, this.access.server);
    return {
      method,
      hostname: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      ca: this.access.ca,
      cert: this.access.cert,
      key: this.access.key,
      headers: {
        accept: 'application/json',
        // Always framed by Content-Length: Node sends a DELETE body unframed (no chunked encoding for DELETE), which
        // the server then reads as the start of the next request on the kept-alive socket.
        ...(payload ? { 'content-type': payload.type, 'content-length': payload.length } : {}),
        ...(this.access.token ? { authorization: `Bearer ${this.access.token}` } : {}),
      },
    };
  }

  /**
   * One request; a non-2xx answer becomes KubeHttpError with the API server's message. Like client-go, it retries
   * what is transient (no connection, 429, 5xx) with backoff for up to two minutes: the API server restarts in the
   * fault scenarios, and a kubelet or executor rides that out.
   */
  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const deadline = Date.now() + 120_000;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(method, path, body, contentType);
      } catch (err) {
        const status = err instanceof KubeHttpError ? err.status : 0;
        const transient = status === 0 || status === 429 || status >= 500;
        if (!transient || Date.now() > deadline) throw err;
        await new Promise((ok) => setTimeout(ok, Math.min(5000, 250 * 2 ** attempt)));
      }
    }
  }

  private once<T>(method: string, path: string, body: unknown, contentType: string): Promise<T> {
    const payload =
      body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
    return new Promise((ok, fail) => {
      const framing = payload ? { type: contentType, length: payload.length } : undefined;
      const req = httpsRequest(this.options(method, path, framing), (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) {
            let message = text.slice(0, 500);
            try {
              message = (JSON.parse(text) as { message?: string }).message ?? message;
            } catch {
              // Not a Status: the HTTP layer refused the request itself; say what was sent.
              const sent = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
              message += ` (sent ${sent.length} bytes: ${sent.slice(0, 300)})`;
            }
            fail(new KubeHttpError(status, `${method} ${path}: HTTP ${status} ${message}`));
            return;
          }
          ok((text ? JSON.parse(text) : undefined) as T);
        });
      });
      req.on('error', fail);
      req.end(payload);
    });
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  /** GET that answers undefined for 404. */
  async find<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof KubeHttpError && err.status === 404) return undefined;
      throw err;
    }
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  mergePatch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body, 'application/merge-patch+json');
  }

  delete<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('DELETE', path, body);
  }

  /**
   * Streams watch events until the server ends the watch or the signal aborts. Resolves when the stream ends;
   * the caller re-lists and watches again (a watch also ends with an ERROR event when its version expired).
   */
  watch<T>(path: string, onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> {
    return new Promise((ok, fail) => {
      const req = httpsRequest({ ...this.options('GET', path), signal }, (res) => {
        if ((res.statusCode ?? 0) !== 200) {
          res.resume();
          fail(new KubeHttpError(res.statusCode ?? 0, `watch ${path}: HTTP ${res.statusCode}`));
          return;
        }
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (text: string) => {
          pending += text;
          let nl: number;
          while ((nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (line) onEvent(JSON.parse(line) as WatchEvent<T>);
          }
        });
        res.on('end', () => ok());
        res.on('error', (err) => (signal.aborted ? ok() : fail(err)));
      });
      req.on('error', (err) => (signal.aborted ? ok() : fail(err)));
      req.end();
    });
  }
}
