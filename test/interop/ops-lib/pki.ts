// Throwaway certificate authorities and certificates for the TLS tests, made with the openssl command in
// a temp dir (EC P-256 keys: quick to generate, accepted by OVS's OpenSSL and by Node).
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

export interface KeyPair {
  /** PEM private key file. */
  readonly key: string;
  /** PEM certificate file. */
  readonly cert: string;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export class Pki {
  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'leaf.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n');
  }

  /** A self-signed CA named `name` (files name-ca.key / name-ca.pem). */
  ca(name: string): KeyPair {
    const key = path.join(this.dir, `${name}-ca.key`);
    const cert = path.join(this.dir, `${name}-ca.pem`);
    openssl(['req', '-x509', ...NEW_KEY, '-keyout', key, '-out', cert, '-days', '3', '-subj', `/O=ovsdb-ts tests/CN=${name} CA`], this.dir);
    return { key, cert };
  }

  /** A certificate with common name `cn`, signed by `ca` (files cn.key / cn.pem). */
  issue(ca: KeyPair, cn: string): KeyPair {
    const key = path.join(this.dir, `${cn}.key`);
    const csr = path.join(this.dir, `${cn}.csr`);
    const cert = path.join(this.dir, `${cn}.pem`);
    openssl(['req', ...NEW_KEY, '-keyout', key, '-out', csr, '-subj', `/O=ovsdb-ts tests/CN=${cn}`], this.dir);
    openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '3', '-extfile', 'leaf.ext'], this.dir);
    return { key, cert };
  }
}
