// SSL/TLS settings (reference §1.6): --private-key, --certificate, --ca-cert, --bootstrap-ca-cert,
// --ssl-protocols, --ssl-ciphers, each a file name or a `db:DB,TABLE,COLUMN` reference re-read on use.
// Peers are verified against the CA, both ways, as OVS does; host names are not checked (OVS does not).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type net from 'node:net';
import type tls from 'node:tls';
import { connectSocket, parseConnectionMethod } from './jsonrpc.ts';
import { DbRefError, parseDbRef, readStringRef } from './db-remotes.ts';
import type { OvsdbServer } from './server.ts';

export interface SslOptionStrings {
  privateKey: string | null;
  certificate: string | null;
  caCert: string | null;
  bootstrapCaCert: string | null;
  sslProtocols: string | null;
  sslCiphers: string | null;
}

export const DEFAULT_SSL_PROTOCOLS = 'TLSv1,TLSv1.1,TLSv1.2';

// `import.meta.url` is empty when this module is bundled as CommonJS (a crash test's writer); `__filename` is there.
const nodeRequire = createRequire(import.meta.url ?? __filename);
let tlsModule: typeof tls | null = null;

/** node:tls, loaded on first use: a server without SSL never pays for it (~2 MiB resident, start-up time). */
export function nodeTls(): typeof tls {
  tlsModule ??= nodeRequire('node:tls') as typeof tls;
  return tlsModule;
}

/** True for a TLS socket (none exists before node:tls was loaded). */
export function isTlsSocket(socket: net.Socket): socket is tls.TLSSocket {
  return tlsModule !== null && socket instanceof tlsModule.TLSSocket;
}
export const DEFAULT_SSL_CIPHERS = 'HIGH:!aNULL:!MD5';

export class TlsConfigError extends Error {}

/** The resolved material for one TLS endpoint. */
export interface TlsMaterial {
  readonly key: Buffer;
  readonly cert: Buffer;
  /** null: `--ca-cert=none`, peers are not verified. */
  readonly ca: Buffer | null;
  readonly minVersion: tls.SecureVersion;
  readonly maxVersion: tls.SecureVersion;
  readonly ciphers: string;
  /** A stable fingerprint, to tell when a listener must reload. */
  readonly fingerprint: string;
}

const VERSIONS: tls.SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

function protocolRange(list: string): { min: tls.SecureVersion; max: tls.SecureVersion } {
  const wanted = list
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((p) => VERSIONS.indexOf(p as tls.SecureVersion))
    .filter((i) => i >= 0);
  if (wanted.length === 0) throw new TlsConfigError(`SSL protocol not recognized: ${list}`);
  return { min: VERSIONS[Math.min(...wanted)], max: VERSIONS[Math.max(...wanted)] };
}

export class TlsSettings {
  constructor(
    private readonly server: OvsdbServer,
    readonly options: SslOptionStrings,
  ) {}

  /** Validates the db: references (startup, like the reference: fatal on a bad reference). */
  validate(): void {
    const names: [keyof SslOptionStrings, string][] = [
      ['privateKey', 'private-key'],
      ['certificate', 'certificate'],
      ['caCert', 'ca-cert'],
      ['sslProtocols', 'ssl-protocols'],
      ['sslCiphers', 'ssl-ciphers'],
    ];
    for (const [k] of names) {
      const v = this.options[k];
      if (v?.startsWith('db:')) parseDbRef(this.server, v, { needString: true });
    }
  }

  /** The current value of one option: a db: reference is read from the database now. */
  private value(v: string | null): string | null {
    if (v === null) return null;
    if (!v.startsWith('db:')) return v;
    try {
      return readStringRef(this.server, parseDbRef(this.server, v, { needString: true }));
    } catch (e) {
      if (e instanceof DbRefError) return null;
      throw e;
    }
  }

  get configured(): boolean {
    return this.options.privateKey !== null || this.options.certificate !== null;
  }

  /** Reads keys and certificates; throws TlsConfigError with a clear text when something is missing. */
  material(): TlsMaterial {
    const keyFile = this.value(this.options.privateKey);
    const certFile = this.value(this.options.certificate);
    const caFile = this.value(this.options.caCert);
    if (!keyFile) throw new TlsConfigError('Private key must be configured to use SSL');
    if (!certFile) throw new TlsConfigError('Certificate must be configured to use SSL');
    if (!caFile && !this.options.bootstrapCaCert)
      throw new TlsConfigError('CA certificate must be configured to use SSL');
    const read = (f: string, what: string) => {
      try {
        return fs.readFileSync(f);
      } catch (e) {
        throw new TlsConfigError(`${f}: could not read ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    };
    const key = read(keyFile, 'private key');
    const cert = read(certFile, 'certificate');
    let ca: Buffer | null = null;
    if (caFile && caFile !== 'none') ca = read(caFile, 'CA certificate');
    else if (!caFile && this.options.bootstrapCaCert && fs.existsSync(this.options.bootstrapCaCert))
      ca = read(this.options.bootstrapCaCert, 'CA certificate');
    try {
      // Catches a key that does not match its certificate, with OpenSSL's reason.
      nodeTls().createSecureContext({ key, cert });
    } catch (e) {
      throw new TlsConfigError(`Private key does not match certificate public key: ${(e as Error).message}`);
    }
    const { min, max } = protocolRange(this.value(this.options.sslProtocols) || DEFAULT_SSL_PROTOCOLS);
    const ciphers = this.value(this.options.sslCiphers) || DEFAULT_SSL_CIPHERS;
    return {
      key,
      cert,
      ca,
      minVersion: min,
      maxVersion: max,
      ciphers,
      fingerprint: [keyFile, certFile, caFile, key.length, cert.length, ca?.length, min, max, ciphers].join('|'),
    };
  }

  /** Options for tls.createServer / setSecureContext: client certificates are required and verified. */
  serverOptions(m: TlsMaterial): tls.TlsOptions {
    return {
      key: m.key,
      cert: m.cert,
      ca: m.ca ?? undefined,
      requestCert: true,
      rejectUnauthorized: m.ca !== null,
      minVersion: m.minVersion,
      maxVersion: m.maxVersion,
      ciphers: m.ciphers,
    };
  }

  /** Options for tls.connect: the server's chain is verified against the CA; host names are not. */
  clientOptions(m: TlsMaterial): tls.ConnectionOptions {
    return {
      key: m.key,
      cert: m.cert,
      ca: m.ca ?? undefined,
      rejectUnauthorized: m.ca !== null,
      checkServerIdentity: () => undefined,
      minVersion: m.minVersion,
      maxVersion: m.maxVersion,
      ciphers: m.ciphers,
    };
  }
}

/** The common name of a verified peer certificate (RBAC's client id), or null. */
export function peerCommonName(socket: tls.TLSSocket): string | null {
  const cert = socket.getPeerCertificate();
  const cn = cert?.subject?.CN;
  if (Array.isArray(cn)) return cn[0] ?? null;
  return typeof cn === 'string' ? cn : null;
}

/**
 * Connects to an active connection method: `unix:`/`tcp:` as plain sockets, `ssl:HOST:PORT` with TLS
 * using `settings` (the replication client's `--sync-from=ssl:…`).
 */
export function connectRemote(target: string, settings: TlsSettings | undefined): Promise<net.Socket> {
  if (!target.startsWith('ssl:')) return connectSocket(target);
  return new Promise((resolve, reject) => {
    let m;
    let mat: TlsMaterial;
    try {
      m = parseConnectionMethod(target);
      if (!settings) throw new TlsConfigError(`${target}: SSL needs --private-key, --certificate and --ca-cert`);
      mat = settings.material();
    } catch (e) {
      reject(e as Error);
      return;
    }
    const { host, port } = m as { host: string; port: number };
    const socket = nodeTls().connect({ ...settings.clientOptions(mat), host, port });
    const onError = (err: Error) => reject(err);
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
