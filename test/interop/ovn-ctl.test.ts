// ovsdb-ts as a drop-in under OVN's own ovn-ctl (reference §8.1–8.3): the unchanged Debian script starts,
// queries, promotes, demotes and stops the server found first in PATH; ovn-nbctl, ovn-sbctl and ovn-northd
// then work against it. Every case runs with ovsdb-ts and with the real ovsdb-server, same expectations.
import fs from 'node:fs';
import { describe, it, expect, afterEach } from 'vitest';
import { IMPLS, waitFor, type Impl } from './lib/harness.ts';
import { OvnNode, commOf, freePorts, pidAlive, tcpOpen } from './ops-lib/ovn-node.ts';

// Ours adds a line naming ovsdb-ts after the reference's (ovn-lib reads the first).
const VERSION: Record<Impl, string> = {
  real: 'ovsdb-server (Open vSwitch) 3.1.0\n',
  ours: 'ovsdb-server (Open vSwitch) 3.1.0\novsdb-ts 0.1.0\n',
};
const READ_ONLY =
  'ovn-nbctl: transaction error: {"details":"insert operation not allowed when database server is in read only mode","error":"not allowed"}\n';

let nodes: OvnNode[] = [];
afterEach(async () => {
  for (const n of nodes) await n.cleanup();
  nodes = [];
});

function node(impl: (typeof IMPLS)[number], name: string): OvnNode {
  const n = new OvnNode(impl, name);
  nodes.push(n);
  return n;
}

async function switches(n: OvnNode, db?: string): Promise<string[]> {
  const r = await n.nbctl(...(db ? [`--db=${db}`] : []), '--bare', '--columns=name', 'list', 'Logical_Switch');
  return r.stdout.split('\n').filter(Boolean).sort();
}

describe.each(IMPLS)('ovn-ctl driving %s ovsdb-server', (impl) => {
  it('start_nb_ovsdb / start_sb_ovsdb, status, clients and ovn-northd, stop', { timeout: 120_000 }, async () => {
    const a = node(impl, 'a');
    const [nbPort, sbPort] = await freePorts(2);
    for (const [db, port, label] of [['nb', nbPort, 'ovsdb-nb'], ['sb', sbPort, 'ovsdb-sb']] as const) {
      const file = a.dbFile(db);
      const r = await a.ovnCtl(`--db-${db}-addr=127.0.0.1`, `--db-${db}-port=${port}`, `--db-${db}-create-insecure-remote=yes`, `start_${db}_ovsdb`);
      expect(r).toMatchObject({
        code: 0,
        stdout: `${file} does not exist ... (warning).\nCreating empty database ${file}.\nStarting ${label}.\n`,
        stderr: '',
      });
      // pidfile → a live process named ovsdb-server (ovn-ctl's pidfile_is_running checks /proc/PID/comm).
      const pid = a.pid(db)!;
      expect(commOf(pid)).toBe('ovsdb-server');
      expect(await a.appctl(db, 'version')).toMatchObject({ code: 0, stdout: VERSION[impl] });
      expect(await a.status(db)).toBe('running/active\n');
      // Started again: ovn-ctl sees it running and does nothing.
      expect(await a.ovnCtl(`--db-${db}-port=${port}`, `start_${db}_ovsdb`)).toMatchObject({ code: 0, stdout: '', stderr: '' });
      expect(a.pid(db)).toBe(pid);
      expect(await tcpOpen(port)).toBe(true);
    }

    // The clients' default databases are the unix sockets under OVN_RUNDIR; ovn-ctl ran `init` on both.
    expect(await a.nbctl('get', 'NB_Global', '.', 'connections')).toMatchObject({ code: 0, stdout: '[]\n' });
    expect(await a.sbctl('get', 'SB_Global', '.', 'connections')).toMatchObject({ code: 0, stdout: '[]\n' });
    expect((await a.nbctl('ls-add', 'sw0')).code).toBe(0);
    expect((await a.nbctl('lsp-add', 'sw0', 'sw0-p1')).code).toBe(0);
    expect((await a.sbctl('chassis-add', 'ch0', 'geneve', '127.0.0.1')).code).toBe(0);
    expect(await switches(a, `tcp:127.0.0.1:${nbPort}`)).toEqual(['sw0']);

    // ovn-northd, started by ovn-ctl against the same sockets, computes the southbound contents.
    expect(await a.ovnCtl('--ovn-manage-ovsdb=no', 'start_northd')).toMatchObject({ code: 0, stdout: 'Starting ovn-northd.\n' });
    await waitFor(async () => (await a.sbctl('--bare', '--columns=logical_port', 'find', 'Port_Binding')).stdout === 'sw0-p1\n', 'northd to bind sw0-p1');
    // --wait=sb: northd copies nb_cfg into the southbound database and back.
    expect(await a.nbctl('--wait=sb', 'sync')).toMatchObject({ code: 0, stderr: '' });
    expect((await a.nbctl('get', 'NB_Global', '.', 'sb_cfg')).stdout).toBe('1\n');
    expect((await a.ovnCtl('--ovn-manage-ovsdb=no', 'stop_northd')).code).toBe(0);

    for (const [db, label] of [['nb', 'ovnnb_db'], ['sb', 'ovnsb_db']] as const) {
      const pid = a.pid(db)!;
      expect(await a.ovnCtl(`stop_${db}_ovsdb`)).toMatchObject({ code: 0, stdout: `Exiting ${label} (${pid}).\n`, stderr: '' });
      await waitFor(() => !pidAlive(pid), `${label} to exit`);
      expect(fs.existsSync(a.pidfile(db))).toBe(false);
      expect(fs.existsSync(a.ctl(db))).toBe(false);
      expect(await a.status(db)).toBe('not-running\n');
      expect(await a.ovnCtl(`stop_${db}_ovsdb`)).toMatchObject({ code: 0, stdout: `${label} is not running.\n` });
    }
  });

  it('active/passive: --db-nb-sync-from-addr start, promote_ovnnb, demote_ovnnb', { timeout: 120_000 }, async () => {
    const a = node(impl, 'a');
    const b = node(impl, 'b');
    const [portA, portB] = await freePorts(2);
    expect((await a.ovnCtl('--db-nb-addr=127.0.0.1', `--db-nb-port=${portA}`, '--db-nb-create-insecure-remote=yes', 'start_nb_ovsdb')).code).toBe(0);
    expect((await a.nbctl('ls-add', 'sw0')).code).toBe(0);

    const fromA = [`--db-nb-sync-from-addr=127.0.0.1`, `--db-nb-sync-from-port=${portA}`];
    const r = await b.ovnCtl('--db-nb-addr=127.0.0.1', `--db-nb-port=${portB}`, '--db-nb-create-insecure-remote=yes', ...fromA, 'start_nb_ovsdb');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Starting ovsdb-nb\.\n$/);
    expect(fs.readFileSync(b.activeConf('nb'), 'utf8')).toBe(`tcp:127.0.0.1:${portA}\n`);
    expect(await b.status('nb')).toBe('running/backup\n');
    await waitFor(async () => (await switches(b)).join() === 'sw0', 'b to replicate sw0');
    await waitFor(async () => (await b.appctl('nb', 'ovsdb-server/sync-status')).stdout.startsWith(`state: backup\nreplicating: tcp:127.0.0.1:${portA}\ndatabase: OVN_Northbound\n`), 'b replicating');
    expect(await b.nbctl('ls-add', 'swB')).toMatchObject({ code: 1, stderr: READ_ONLY });
    expect((await a.nbctl('ls-add', 'sw1')).code).toBe(0);
    await waitFor(async () => (await switches(b)).join() === 'sw0,sw1', 'b to replicate sw1');

    // promote: the conf file goes, the server turns active and takes writes.
    expect(await b.ovnCtl('promote_ovnnb')).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(fs.existsSync(b.activeConf('nb'))).toBe(false);
    expect(await b.status('nb')).toBe('running/active\n');
    expect(await b.appctl('nb', 'ovsdb-server/sync-status')).toMatchObject({ code: 0, stdout: 'state: active\n' });
    expect((await b.nbctl('ls-add', 'swB')).code).toBe(0);
    expect(await switches(b, `tcp:127.0.0.1:${portB}`)).toEqual(['sw0', 'sw1', 'swB']);

    // demote towards A: backup again, and the first sync replaces B's contents by A's.
    expect(await b.ovnCtl(...fromA, '--db-nb-probe-interval-to-active=30000', 'demote_ovnnb')).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(fs.readFileSync(b.activeConf('nb'), 'utf8')).toBe(`tcp:127.0.0.1:${portA}\n`);
    expect(await b.status('nb')).toBe('running/backup\n');
    await waitFor(async () => (await switches(b)).join() === 'sw0,sw1', 'b to resync from a');
    expect(await b.appctl('nb', 'ovsdb-server/get-active-ovsdb-server')).toMatchObject({ code: 0, stdout: `tcp:127.0.0.1:${portA}\n` });

    for (const n of [b, a]) {
      const pid = n.pid('nb')!;
      expect(await n.ovnCtl('stop_nb_ovsdb')).toMatchObject({ code: 0, stdout: `Exiting ovnnb_db (${pid}).\n` });
      expect(await n.status('nb')).toBe('not-running\n');
    }
  });
});
