// The pacemaker agent ovndb-servers.ocf (reference §8.4) driving two "nodes" through a failover cycle,
// as pacemaker would: both start as backups of an unreachable address, one is promoted and takes writes
// through the virtual IP, the master crashes, the other is promoted with the data intact, and the old
// master comes back as a backup and catches up. Pacemaker's IPaddr2 VIP is played by one shared
// 127.0.0.1 port per database: whichever server holds the port is what clients of the VIP reach (the
// others keep retrying the bind, as ovsdb-server does when its listen address is taken). The mixed cycle
// runs over TLS (nb/sb_master_protocol=ssl): pssl listeners from the Connection rows, ssl: replication.
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, afterEach } from 'vitest';
import { waitFor, type Impl } from './lib/harness.ts';
import { freePorts, tcpOpen } from './ops-lib/ovn-node.ts';
import { FakeCluster, OCF, type OcfNode } from './ops-lib/pacemaker.ts';
import { Pki } from './ops-lib/pki.ts';

let cluster: FakeCluster | null = null;
const pkiDirs: string[] = [];
afterEach(async () => {
  await cluster?.cleanup();
  cluster = null;
  for (const d of pkiDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Client options that reach a database through the VIP (with the node certificate when TLS is on). */
let vipArgs: (db: 'nb' | 'sb') => string[] = () => [];

async function names(n: OcfNode, db: 'nb' | 'sb', viaVip = false): Promise<string> {
  const args = [...(viaVip ? vipArgs(db) : []), '--bare', '--columns=name', 'list', db === 'nb' ? 'Logical_Switch' : 'Chassis'];
  const r = await (db === 'nb' ? n.nbctl(...args) : n.sbctl(...args));
  return r.stdout.split('\n').filter(Boolean).sort().join(',');
}

async function expectAction(n: OcfNode, action: string, want: number, notify?: Parameters<OcfNode['action']>[1]): Promise<void> {
  const r = await n.action(action, notify);
  if (r.code !== want) {
    const logs = ['nb', 'sb'].map((db) => `--- ${n.name} ${db} server log:\n${n.log(db as 'nb' | 'sb')}`).join('\n');
    throw new Error(`${n.name} ${action}: exit ${r.code} (want ${want})\nstdout ${r.stdout}\nstderr ${r.stderr}\nagent log:\n${cluster?.ocfLog()}\n${logs}`);
  }
}

async function cycle(implA: Impl, implB: Impl, proto: 'tcp' | 'ssl'): Promise<void> {
  const t0 = Date.now();
  let current = '';
  const step = (s: string) => {
    current = s;
    if (process.env.OCF_TEST_TRACE) console.log(`${Date.now() - t0} ms: ${s}`);
  };
  const [nbPort, sbPort] = await freePorts(2);
  let ssl: { key: string; cert: string; ca: string } | undefined;
  if (proto === 'ssl') {
    const pki = new Pki(fs.mkdtempSync(path.join(os.tmpdir(), 'ovn-ocf-pki-')));
    const ca = pki.ca('cluster');
    const node = pki.issue(ca, 'ovn-central');
    ssl = { key: node.key, cert: node.cert, ca: ca.cert };
    pkiDirs.push(pki.dir);
  }
  const cl = new FakeCluster({ masterIp: '127.0.0.1', nbPort, sbPort, ssl });
  cluster = cl;
  const root = cl.root;
  // A cycle normally takes 10–45 s: past 90 s, show what is running and what the agent said.
  const dog = setInterval(() => {
    const ps = spawnSync('sh', ['-c', `for p in $(ls /proc | grep -E '^[0-9]+$'); do grep -qa '${root}' /proc/$p/environ 2>/dev/null && echo "$p $(ps -o ppid=,pgid=,stat=,etimes= -p $p) $(cat /proc/$p/comm) :: $(tr '\\0' ' ' < /proc/$p/cmdline | cut -c1-300)"; done`], { encoding: 'utf8' }).stdout;
    console.log(`WATCHDOG ${Date.now() - t0} ms in "${current}"\n${ps}\nagent log:\n${cl.ocfLog()}`);
  }, 90_000);
  try {
    await cycleSteps();
  } finally {
    clearInterval(dog);
  }
  async function cycleSteps(): Promise<void> {
    const a = cl.node('node-a', implA);
    const b = cl.node('node-b', implB);
    const tlsArgs = ssl ? [`--private-key=${ssl.key}`, `--certificate=${ssl.cert}`, `--ca-cert=${ssl.ca}`] : [];
    vipArgs = (db) => [...tlsArgs, `--db=${proto}:127.0.0.1:${db === 'nb' ? nbPort : sbPort}`];

    step('No master known: both come up as backups');
    // 1. No master known: both come up as backups of 192.0.2.254 (never reachable) and report "slave".
    //    Over tcp the agent also adds an insecure ptcp remote on the VIP; node-a starts first and holds it.
    await expectAction(a, 'start', OCF.SUCCESS);
    if (proto === 'tcp') await waitFor(async () => (await tcpOpen(nbPort)) && (await tcpOpen(sbPort)), 'node-a to hold the VIP ports');
    await expectAction(b, 'start', OCF.SUCCESS);
    for (const n of [a, b]) {
      expect(await n.status('nb')).toBe('running/backup\n');
      expect(await n.status('sb')).toBe('running/backup\n');
      // (The agent's "no master" start passes no protocol or port: ovn-ctl's defaults, tcp and 6641/6642.)
      expect((await n.appctl('nb', 'ovsdb-server/sync-status')).stdout).toMatch(/^state: backup\nconnecting: tcp:192\.0\.2\.254:6641\n/);
      await expectAction(n, 'monitor', OCF.SUCCESS);
      expect(cl.masterScore(n.name)).toBe('5');
    }
    expect(cl.replInfo()).toBe(null);

    step('Pacemaker promotes node-a, then notifies');
    // 2. Pacemaker promotes node-a, then notifies both nodes (post-promote).
    await expectAction(a, 'promote', OCF.SUCCESS);
    expect(cl.replInfo()).toBe('node-a');
    expect(cl.masterScore('node-a')).toBe('10');
    const postPromoteA = { type: 'post', operation: 'promote', promote: ['node-a'], master: ['node-a'] } as const;
    await expectAction(a, 'notify', OCF.SUCCESS, postPromoteA);
    await expectAction(b, 'notify', OCF.SUCCESS, postPromoteA);
    await expectAction(a, 'monitor', OCF.RUNNING_MASTER);
    await expectAction(b, 'monitor', OCF.SUCCESS);
    // notify created the Connection rows the db: remotes now follow.
    expect((await a.nbctl('get', 'Connection', '.', 'target')).stdout).toBe(`"p${proto}:${nbPort}:127.0.0.1"\n`);
    expect((await a.sbctl('get', 'Connection', '.', 'inactivity_probe')).stdout).toBe('5000\n');

    step('Writes through the VIP reach the master ');
    // 3. Writes through the VIP reach the master and replicate to the backup.
    await waitFor(async () => (await a.nbctl(...vipArgs('nb'), 'ls-add', 'sw0')).code === 0, 'a write through the NB VIP');
    await waitFor(async () => (await a.sbctl(...vipArgs('sb'), 'chassis-add', 'ch0', 'geneve', '127.0.0.1')).code === 0, 'a write through the SB VIP');
    await waitFor(async () => (await names(b, 'nb')) === 'sw0' && (await names(b, 'sb')) === 'ch0', 'node-b to replicate');
    expect((await b.appctl('sb', 'ovsdb-server/sync-status')).stdout).toMatch(new RegExp(`^state: backup\\nreplicating: ${proto}:127\\.0\\.0\\.1:${sbPort}\\n`));

    step('The master crashes. Its monitor action n');
    // 4. The master crashes. Its monitor action now says "not running"; pacemaker stops it (cleanup).
    const deadNb = a.crash('nb')!;
    const deadSb = a.crash('sb')!;
    // Gone from /proc (reaped by their monitors), as ovn-ctl's pid_exists checks it.
    await waitFor(() => !fs.existsSync(`/proc/${deadNb}`) && !fs.existsSync(`/proc/${deadSb}`), 'node-a servers to die');
    await expectAction(a, 'monitor', OCF.NOT_RUNNING);
    await expectAction(a, 'stop', OCF.SUCCESS);

    step('node-b is promoted; it keeps every row a');
    // 5. node-b is promoted; it keeps every row and takes over the VIP ports.
    await expectAction(b, 'promote', OCF.SUCCESS);
    expect(cl.replInfo()).toBe('node-b');
    const postPromoteB = { type: 'post', operation: 'promote', promote: ['node-b'], master: ['node-b'] } as const;
    await expectAction(b, 'notify', OCF.SUCCESS, postPromoteB);
    await expectAction(b, 'monitor', OCF.RUNNING_MASTER);
    expect(await names(b, 'nb')).toBe('sw0');
    expect(await names(b, 'sb')).toBe('ch0');
    await waitFor(async () => (await names(b, 'nb', true)) === 'sw0', 'node-b to serve the NB VIP');
    expect((await b.nbctl(...vipArgs('nb'), 'ls-add', 'sw1')).code).toBe(0);
    await waitFor(async () => (await names(b, 'sb', true)) === 'ch0', 'node-b to serve the SB VIP');
    expect((await b.sbctl(...vipArgs('sb'), 'chassis-add', 'ch1', 'geneve', '127.0.0.2')).code).toBe(0);

    step('node-a returns: the agent sees node-b as');
    // 6. node-a returns: the agent sees node-b as master and starts node-a as its backup; it catches up.
    await expectAction(a, 'start', OCF.SUCCESS, { type: 'post', operation: 'start', start: ['node-a'], master: ['node-b'] });
    expect(await a.status('nb')).toBe('running/backup\n');
    expect(cl.masterScore('node-a')).toBe('5');
    await waitFor(async () => (await names(a, 'nb')) === 'sw0,sw1' && (await names(a, 'sb')) === 'ch0,ch1', 'node-a to catch up');
    expect((await a.appctl('nb', 'ovsdb-server/sync-status')).stdout).toMatch(new RegExp(`^state: backup\\nreplicating: ${proto}:127\\.0\\.0\\.1:${nbPort}\\n`));
    expect((await b.nbctl(...vipArgs('nb'), 'ls-add', 'sw2')).code).toBe(0);
    await waitFor(async () => (await names(a, 'nb')) === 'sw0,sw1,sw2', 'node-a to follow node-b');

    step('Pacemaker stops the resource everywhere.');
    // 7. Pacemaker stops the resource everywhere.
    for (const n of [a, b]) {
      step(`stop ${n.name}`);
      await expectAction(n, 'stop', OCF.SUCCESS);
      expect(await n.status('nb')).toBe('not-running\n');
      expect(await n.status('sb')).toBe('not-running\n');
    }
    expect(cl.calls()).toContain('crm_attribute --type crm_config --name OVN_REPL_INFO -s ovn_ovsdb_master_server -v node-b');
  }
}

describe('ovndb-servers.ocf failover cycle', () => {
  it('two ovsdb-ts nodes, tcp', { timeout: 180_000 }, () => cycle('ours', 'ours', 'tcp'));
  it('the real ovsdb-server fails over to ovsdb-ts and back-fills from it, ssl', { timeout: 180_000 }, () => cycle('real', 'ours', 'ssl'));
  it('ovsdb-ts fails over to the real ovsdb-server and back-fills from it, tcp', { timeout: 180_000 }, () => cycle('ours', 'real', 'tcp'));
});
