import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrapeConfigSchema } from '../config/schema.js';
import { ScrapeHttpClient, ScrapeHttpError } from './http-client.js';

const hasOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
if (!hasOpenssl) console.warn('http-client TLS tests skipped: the openssl binary (used to make a test certificate) is not installed');

describe.skipIf(!hasOpenssl)('ScrapeHttpClient over TLS', () => {
  let dir = '';
  let server: https.Server;
  let url = '';
  const never = new AbortController().signal;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wk-scrape-tls-'));
    const made = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', 'key.pem', '-out', 'cert.pem'],
      { cwd: dir, stdio: 'ignore' },
    );
    expect(made.status).toBe(0);
    server = https.createServer({ key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')) }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end('tls_metric 1\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  const client = (tls: Record<string, unknown> | undefined) =>
    new ScrapeHttpClient(scrapeConfigSchema.parse({ job_name: 'tls', scheme: 'https', ...(tls ? { tls_config: tls } : {}) }), dir);

  it('verifies the server against ca_file (relative to the config directory)', async () => {
    const c = client({ ca_file: 'cert.pem' });
    expect((await c.scrape(url, 5000, never)).body).toBe('tls_metric 1\n');
    c.close();
  });

  it('rejects an unknown certificate unless insecure_skip_verify is set', async () => {
    const strict = client(undefined);
    await expect(strict.scrape(url, 5000, never)).rejects.toThrow(/self[- ]signed/);
    strict.close();
    const lax = client({ insecure_skip_verify: true });
    expect((await lax.scrape(url, 5000, never)).body).toBe('tls_metric 1\n');
    lax.close();
  });

  it('fails every scrape with a clear reason when a TLS file cannot be read', async () => {
    const c = client({ ca_file: 'missing.pem' });
    await expect(c.scrape(url, 5000, never)).rejects.toThrow(ScrapeHttpError);
    await expect(c.scrape(url, 5000, never)).rejects.toThrow(/cannot read TLS files/);
    c.close();
  });
});

describe('ScrapeHttpClient body limits', () => {
  let server: http.Server;
  let base = '';
  const never = new AbortController().signal;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/bomb') res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(Buffer.alloc(1 << 20)));
      else if (req.url === '/big') res.writeHead(200).end('x'.repeat(5000));
      else res.writeHead(200, { 'content-encoding': 'gzip' }).end(Buffer.from('not gzip'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const client = (limit = 1000) => new ScrapeHttpClient(scrapeConfigSchema.parse({ job_name: 'limits' }), tmpdir(), limit);

  it('stops reading a body larger than the limit', async () => {
    await expect(client().scrape(`${base}/big`, 5000, never)).rejects.toThrow('body size limit exceeded (1000 bytes)');
  });

  it('stops inflating a decompression bomb at the limit', async () => {
    // 1 MiB of zeros gzips to about 1 KiB: under the limit on the wire, far over it inflated.
    await expect(client(4000).scrape(`${base}/bomb`, 5000, never)).rejects.toThrow(/cannot decompress the gzip body/);
  });

  it('reports a corrupt gzip body', async () => {
    await expect(client().scrape(`${base}/corrupt`, 5000, never)).rejects.toThrow(/cannot decompress the gzip body/);
  });
});
