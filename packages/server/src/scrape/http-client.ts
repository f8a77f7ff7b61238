/**
 * The HTTP side of a scrape: one GET with Prometheus's Accept header and timeout header,
 * authentication, keep-alive connections, gzip/deflate bodies and a body size cap.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { ScrapeConfigInput } from '../config/schema.js';
import { SCRAPE_ACCEPT_HEADER } from '../ingest/prometheus/exposition/index.js';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);

/** Default largest (decompressed) exposition accepted; beyond it the scrape fails rather than exhaust memory. */
export const MAX_SCRAPE_BODY_BYTES = 256 * 1024 * 1024;

const USER_AGENT = 'Watchkeeper-Scraper';

/** A scrape that did not yield a body: the message is what the targets API shows as lastError. */
export class ScrapeHttpError extends Error {
  override readonly name = 'ScrapeHttpError';
}

export interface ScrapeResponse {
  readonly body: string;
  readonly contentType: string | undefined;
}

/** Performs scrapes for one job: holds its connection pool and credentials. */
export class ScrapeHttpClient {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly httpsAgent: https.Agent;
  /** Set when the TLS files cannot be read: every scrape then fails with this message. */
  private readonly configError: string | null = null;

  constructor(
    private readonly config: ScrapeConfigInput,
    /** Base directory for relative credential and certificate file names. */
    private readonly configDir: string,
    /** Largest body accepted, compressed or decompressed. */
    private readonly bodyLimitBytes: number = MAX_SCRAPE_BODY_BYTES,
  ) {
    const tls = config.tls_config;
    let tlsOptions: https.AgentOptions = { keepAlive: true, maxSockets: 64 };
    if (tls) {
      try {
        tlsOptions = {
          ...tlsOptions,
          rejectUnauthorized: !tls.insecure_skip_verify,
          ca: tls.ca_file ? readFileSync(resolve(configDir, tls.ca_file)) : undefined,
          cert: tls.cert_file ? readFileSync(resolve(configDir, tls.cert_file)) : undefined,
          key: tls.key_file ? readFileSync(resolve(configDir, tls.key_file)) : undefined,
          servername: tls.server_name,
        };
      } catch (err) {
        this.configError = `cannot read TLS files: ${(err as Error).message}`;
      }
    }
    this.httpsAgent = new https.Agent(tlsOptions);
  }

  /** Fetches one exposition. Throws ScrapeHttpError with a reason on any failure. */
  async scrape(url: string, timeoutMs: number, stopSignal: AbortSignal): Promise<ScrapeResponse> {
    if (this.configError !== null) throw new ScrapeHttpError(this.configError);
    const headers: Record<string, string> = {
      accept: SCRAPE_ACCEPT_HEADER,
      'accept-encoding': 'gzip, deflate',
      'user-agent': USER_AGENT,
      'x-prometheus-scrape-timeout-seconds': String(timeoutMs / 1000),
    };
    const authorization = await this.authorization();
    if (authorization !== null) headers.authorization = authorization;
    const signal = AbortSignal.any([stopSignal, AbortSignal.timeout(timeoutMs)]);
    const isHttps = url.startsWith('https:');
    return new Promise<ScrapeResponse>((resolvePromise, reject) => {
      const fail = (message: string) => reject(new ScrapeHttpError(message));
      const req = (isHttps ? https : http).get(url, { headers, agent: isHttps ? this.httpsAgent : this.httpAgent, signal }, (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          res.resume();
          fail(`server returned HTTP status ${status} ${res.statusMessage ?? ''}`.trimEnd());
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.bodyLimitBytes) {
            res.destroy();
            fail(`body size limit exceeded (${this.bodyLimitBytes} bytes)`);
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (err) => fail(describeError(err, signal, timeoutMs)));
        // Without this a connection dropped mid-body could leave the scrape pending forever.
        res.on('close', () => {
          if (!res.complete) fail(signal.aborted ? describeError(new Error('aborted'), signal, timeoutMs) : 'connection closed before the body was complete');
        });
        res.on('end', () => {
          const contentType = res.headers['content-type'];
          decodeBody(Buffer.concat(chunks), res.headers['content-encoding'], this.bodyLimitBytes).then(
            (body) => resolvePromise({ body, contentType }),
            (err: Error) => fail(err.message),
          );
        });
      });
      req.on('error', (err) => fail(describeError(err, signal, timeoutMs)));
    });
  }

  /** Builds the Authorization header; credential files are re-read on every scrape, as Prometheus does. */
  private async authorization(): Promise<string | null> {
    const c = this.config;
    try {
      if (c.basic_auth) {
        const password = c.basic_auth.password_file
          ? (await readFile(resolve(this.configDir, c.basic_auth.password_file), 'utf8')).trim()
          : (c.basic_auth.password ?? '');
        return `Basic ${Buffer.from(`${c.basic_auth.username}:${password}`).toString('base64')}`;
      }
      if (c.bearer_token !== undefined) return `Bearer ${c.bearer_token}`;
      if (c.bearer_token_file !== undefined) return `Bearer ${(await readFile(resolve(this.configDir, c.bearer_token_file), 'utf8')).trim()}`;
    } catch (err) {
      throw new ScrapeHttpError(`cannot read credentials: ${(err as Error).message}`);
    }
    return null;
  }

  /** Closes idle connections. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

function describeError(err: Error, signal: AbortSignal, timeoutMs: number): string {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof DOMException && reason.name === 'TimeoutError') return `scrape timed out after ${timeoutMs}ms`;
    return 'scrape canceled';
  }
  return err.message;
}

async function decodeBody(raw: Buffer, encoding: string | undefined, limitBytes: number): Promise<string> {
  const options = { maxOutputLength: limitBytes };
  try {
    if (encoding === 'gzip' || encoding === 'x-gzip') return (await gunzip(raw, options)).toString('utf8');
    if (encoding === 'deflate') return (await inflate(raw, options)).toString('utf8');
  } catch (err) {
    throw new ScrapeHttpError(`cannot decompress the ${encoding} body: ${(err as Error).message}`);
  }
  return raw.toString('utf8');
}
