/**
 * A small client of the hub's own service REST API for the CLI: signs every request with the iothubowner policy
 * (a fresh token per call, as the official SDK does) and trusts the hub's CA from the data dir.
 */
import { request } from 'node:https';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from '../core/config/index.ts';
import { createSasToken, parseServiceConnectionString } from '../core/auth/index.ts';
import { TributaryError, isErrorCode } from '../core/errors/index.ts';

/** Written by the hub at start-up (mode 0600) so tools on the same machine can reach it without copying keys. */
export const CONNECTION_STRING_FILE = 'service-connection-string';

export async function readServiceConnectionString(config: Config): Promise<string> {
  const file = join(resolve(config.dataDir), CONNECTION_STRING_FILE);
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    throw new TributaryError('ArgumentInvalid', `no service connection string at ${file}: start the hub once with this data dir (npm start), or set TRIBUTARY_DATA_DIR`);
  }
}

export class ServiceClient {
  private constructor(
    private readonly connection: { hostName: string; keyName: string; key: string },
    private readonly port: number,
    private readonly ca: string | undefined,
  ) {}

  static async forConfig(config: Config): Promise<ServiceClient> {
    const cs = parseServiceConnectionString(await readServiceConnectionString(config));
    const caFile = config.tls.caFile ?? join(resolve(config.dataDir), 'tls', 'ca.pem');
    const ca = await readFile(caFile, 'utf8').catch(() => undefined);
    return new ServiceClient({ hostName: cs.hostName, keyName: cs.keyName, key: cs.key }, config.ports.https, ca);
  }

  async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const authorization = createSasToken({
      resourceUri: this.connection.hostName,
      key: this.connection.key,
      keyName: this.connection.keyName,
      expiresAt: Math.ceil(Date.now() / 1000) + 300,
    });
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const { status, text } = await new Promise<{ status: number; text: string }>((resolvePromise, reject) => {
      const req = request(
        {
          host: this.connection.hostName,
          port: this.port,
          method,
          path: `${path}${path.includes('?') ? '&' : '?'}api-version=2021-04-12`,
          ...(this.ca ? { ca: this.ca } : {}),
          headers: { authorization, ...(payload ? { 'content-type': 'application/json; charset=utf-8', 'content-length': payload.length } : {}), ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', (err) => reject(new TributaryError('ServiceUnavailable', `cannot reach the hub at https://${this.connection.hostName}:${this.port}: ${err.message}; is it running (npm start)?`, { cause: err })));
      req.end(payload);
    });
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (status >= 300) {
      const message = (parsed as { Message?: string } | undefined)?.Message ?? text;
      const match = /^ErrorCode:([^;]+);(.*)$/s.exec(message);
      const code = match && isErrorCode(match[1]) ? match[1] : 'ServerError';
      throw new TributaryError(code, match?.[2] ?? `HTTP ${status}: ${message}`);
    }
    return parsed as T;
  }
}
