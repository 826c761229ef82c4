// TLS remotes (reference §1.2.1, §1.6) with certificates made for the test: a pssl: listener used by the
// real ovsdb-client and ovn-nbctl, peers from a foreign CA refused both ways, the key material given as
// db: references to OVN's SSL table (as ovn-ctl passes it) and set with `ovn-nbctl set-ssl`, and
// replication over ssl:. Each case runs against ovsdb-ts and the real ovsdb-server.
import fs from 'node:fs';
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { IMPLS, SCHEMA, TempDir, Server, waitFor, type Impl } from './lib/harness.ts';
import { freePorts, run, tcpOpen } from './ops-lib/ovn-node.ts';
import { Pki, type KeyPair } from './ops-lib/pki.ts';

let pkiDir: TempDir;
let ca: KeyPair;
let otherCa: KeyPair;
let serverCert: KeyPair;
let clientCert: KeyPair;
let rogueCert: KeyPair;

beforeAll(() => {
  pkiDir = new TempDir('ovsdb-pki-');
  const pki = new Pki(pkiDir.dir);
  ca = pki.ca('one');
  otherCa = pki.ca('two');
  serverCert = pki.issue(ca, 'server');
  clientCert = pki.issue(ca, 'client');
  rogueCert = pki.issue(otherCa, 'rogue');
});
afterAll(() => pkiDir.cleanup());

let tmp: TempDir;
afterEach(() => tmp?.cleanup());

/** ovsdb-client / ovn-nbctl options for a client holding `pair` and trusting `trust`. */
function sslArgs(pair: KeyPair, trust: KeyPair): string[] {
  return [`--private-key=${pair.key}`, `--certificate=${pair.cert}`, `--ca-cert=${trust.cert}`];
}

const OVN_CTL_SSL_ARGS = [
  '--remote=db:OVN_Northbound,NB_Global,connections',
  '--private-key=db:OVN_Northbound,SSL,private_key',
  '--certificate=db:OVN_Northbound,SSL,certificate',
  '--ca-cert=db:OVN_Northbound,SSL,ca_cert',
  '--ssl-protocols=db:OVN_Northbound,SSL,ssl_protocols',
  '--ssl-ciphers=db:OVN_Northbound,SSL,ssl_ciphers',
];

// A refused TLS peer: the client either fails the handshake or (TLS 1.3: the server judges the client
// certificate after the client's handshake is done) loses the connection on its first write.
const REFUSED = /^(.*\|WARN\|.*\n)*ovsdb-client: (failed to connect to "ssl:127\.0\.0\.1:\d+"|transaction failed) \((Protocol error|Broken pipe|Connection reset by peer|Input\/output error)\)\n$/;

async function startNb(impl: Impl, name: string, args: string[]): Promise<Server> {
  const db = tmp.createDb(`${name}.db`, SCHEMA.nb);
  return new Server(impl, tmp, { dbs: [db], args, name }).start();
}

describe.each(IMPLS)('TLS with %s ovsdb-server', (impl) => {
  it('pssl: listener with key, certificate and CA files; foreign-CA peers refused', async () => {
    tmp = new TempDir();
    const [port] = await freePorts(1);
    const srv = await startNb(impl, 'tls', [`--remote=pssl:${port}:127.0.0.1`, ...sslArgs(serverCert, ca)]);
    await waitFor(() => tcpOpen(port), 'the pssl listener');
    const remote = `ssl:127.0.0.1:${port}`;

    expect(await run('ovsdb-client', [...sslArgs(clientCert, ca), 'list-dbs', remote])).toMatchObject({ code: 0, stdout: 'OVN_Northbound\n_Server\n' });
    const nbctl = (...a: string[]) => run('ovn-nbctl', ['--timeout=20', ...sslArgs(clientCert, ca), `--db=${remote}`, ...a]);
    expect(await nbctl('init')).toMatchObject({ code: 0, stderr: '' });
    expect(await nbctl('ls-add', 'sw0')).toMatchObject({ code: 0, stderr: '' });
    expect(await nbctl('--bare', '--columns=name', 'list', 'Logical_Switch')).toMatchObject({ code: 0, stdout: 'sw0\n' });
    // The same rows over the unix socket: one database behind both remotes.
    expect((await srv.nbctl('--bare', '--columns=name', 'list', 'Logical_Switch')).stdout).toBe('sw0\n');

    // A client whose certificate comes from another CA is refused by the server...
    const rogue = await run('ovsdb-client', [...sslArgs(rogueCert, ca), 'list-dbs', remote]);
    expect(rogue.code).toBe(1);
    expect(rogue.stdout).toBe('');
    expect(rogue.stderr).toMatch(REFUSED);
    // ...and a client that trusts only that other CA refuses the server.
    const distrust = await run('ovsdb-client', [...sslArgs(clientCert, otherCa), 'list-dbs', remote]);
    expect(distrust).toMatchObject({ code: 1, stdout: '' });
    expect(distrust.stderr).toMatch(/SSL_connect: error:0A000086:SSL routines::certificate verify failed\novsdb-client: failed to connect to "ssl:127\.0\.0\.1:\d+" \(Protocol error\)\n$/);
    // The server is still fine afterwards.
    expect(await run('ovsdb-client', [...sslArgs(clientCert, ca), 'list-dbs', remote])).toMatchObject({ code: 0, stdout: 'OVN_Northbound\n_Server\n' });
    await srv.stop();
  });

  it('key material as db: references to the SSL table, configured with ovn-nbctl set-ssl and set-connection', async () => {
    tmp = new TempDir();
    const [port] = await freePorts(1);
    const srv = await startNb(impl, 'dbssl', OVN_CTL_SSL_ARGS);
    expect((await srv.nbctl('init')).code).toBe(0);
    expect(await srv.nbctl('set-ssl', serverCert.key, serverCert.cert, ca.cert)).toMatchObject({ code: 0, stderr: '' });
    expect(await srv.nbctl('set-connection', `pssl:${port}:127.0.0.1`)).toMatchObject({ code: 0, stderr: '' });
    const remote = `ssl:127.0.0.1:${port}`;
    await waitFor(async () => (await run('ovsdb-client', [...sslArgs(clientCert, ca), 'list-dbs', remote])).code === 0, 'the pssl listener from the Connection row');
    const nbctl = (...a: string[]) => run('ovn-nbctl', ['--timeout=20', ...sslArgs(clientCert, ca), `--db=${remote}`, ...a]);
    expect(await nbctl('ls-add', 'sw0')).toMatchObject({ code: 0, stderr: '' });
    expect(await nbctl('get-connection')).toMatchObject({ code: 0, stdout: `pssl:${port}:127.0.0.1\n` });
    expect((await run('ovsdb-client', [...sslArgs(rogueCert, ca), 'list-dbs', remote])).code).toBe(1);
    // Connection status is written back for the TLS listener too.
    await waitFor(async () => (await srv.nbctl('get', 'Connection', '.', 'status:bound_port')).stdout === `"${port}"\n`, 'status:bound_port');
    await srv.stop();
  });

  it('--sync-from=ssl: replicates from an active of the other implementation', async () => {
    tmp = new TempDir();
    const [port] = await freePorts(1);
    const other: Impl = impl === 'ours' ? 'real' : 'ours';
    const active = await startNb(other, 'active', [`--remote=pssl:${port}:127.0.0.1`, ...sslArgs(serverCert, ca)]);
    await waitFor(() => tcpOpen(port), 'the active pssl listener');
    expect((await active.nbctl('init')).code).toBe(0);
    expect((await active.nbctl('ls-add', 'sw0')).code).toBe(0);
    const backup = await startNb(impl, 'backup', [`--sync-from=ssl:127.0.0.1:${port}`, ...sslArgs(clientCert, ca)]);
    const names = async () => (await backup.nbctl('--bare', '--columns=name', 'list', 'Logical_Switch')).stdout.split('\n').filter(Boolean).sort().join();
    const log = () => fs.readFileSync(backup.log, 'utf8');
    await waitFor(async () => (await names()) === 'sw0', 'the backup to sync over TLS').catch(async (e: Error) => {
      throw new Error(`${e.message}; backup has ${await names()}, backup log:\n${log()}`);
    });
    expect((await backup.appctl('ovsdb-server/sync-status')).stdout).toMatch(new RegExp(`^state: backup\\nreplicating: ssl:127\\.0\\.0\\.1:${port}\\ndatabase: OVN_Northbound\\n`));
    expect((await active.nbctl('ls-add', 'sw1')).code).toBe(0);
    await waitFor(async () => (await names()) === 'sw0,sw1', 'the backup to follow').catch(async (e: Error) => {
      throw new Error(`${e.message}; backup has ${await names()}, backup log:\n${log()}\nactive log:\n${fs.readFileSync(active.log, 'utf8')}`);
    });
    await backup.stop();
    await active.stop();
  });
});
