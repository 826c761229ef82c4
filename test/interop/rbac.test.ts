// RBAC on OVN_Southbound with real clients (ovsdb-server(7), ovn-architecture(7)): a pssl remote configured
// from a Connection row with role "ovn-controller"; each chassis connects with a certificate whose CN is
// its name. ovn-sbctl as chassis hv1 may add and change hv1 but not hv2; the role-less unix socket may do
// anything. Ours only: the reference behaves the same, but making both share certificates adds nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, SCHEMA, startServer, TempDir, waitFor, type Server } from './lib/harness.ts';
import { freePorts, tcpOpen } from './ops-lib/ovn-node.ts';
import { Pki, type KeyPair } from './ops-lib/pki.ts';

let tmp: TempDir;
let srv: Server;
let port: number;
let ca: KeyPair;
let hv1: KeyPair;

beforeAll(async () => {
  tmp = new TempDir();
  const pki = new Pki(tmp.file('pki'));
  ca = pki.ca('test');
  const server = pki.issue(ca, 'sb-server');
  hv1 = pki.issue(ca, 'hv1');
  [port] = await freePorts(1);
  srv = await startServer('ours', tmp, [SCHEMA.sb], {
    args: [
      '--remote=db:OVN_Southbound,SB_Global,connections',
      `--private-key=${server.key}`,
      `--certificate=${server.cert}`,
      `--ca-cert=${ca.cert}`,
    ],
  });
  // The permissions ovn-northd installs for ovn-controller (subset), and the role-carrying listener.
  const setup = [
    'OVN_Southbound',
    { op: 'insert', table: 'RBAC_Permission', 'uuid-name': 'pc',
      row: { table: 'Chassis', authorization: ['set', ['name']], insert_delete: true,
             update: ['set', ['nb_cfg', 'external_ids', 'encaps', 'vtep_logical_switches', 'other_config']] } },
    { op: 'insert', table: 'RBAC_Permission', 'uuid-name': 'pe',
      row: { table: 'Encap', authorization: ['set', ['chassis_name']], insert_delete: true, update: ['set', ['type', 'options', 'ip']] } },
    { op: 'insert', table: 'RBAC_Role',
      row: { name: 'ovn-controller', permissions: ['map', [['Chassis', ['named-uuid', 'pc']], ['Encap', ['named-uuid', 'pe']]]] } },
    { op: 'insert', table: 'Connection', 'uuid-name': 'c', row: { target: `pssl:${port}:127.0.0.1`, role: 'ovn-controller' } },
    { op: 'insert', table: 'SB_Global', row: { connections: ['named-uuid', 'c'] } },
  ];
  const r = await run('ovsdb-client', ['transact', srv.remote, JSON.stringify(setup)], { env: tmp.env });
  expect(r.stdout).not.toContain('error');
  await waitFor(() => tcpOpen(port), 'pssl listener from the Connection row');
});

afterAll(async () => {
  await srv?.stop();
  tmp?.cleanup();
});

const asHv1 = (...args: string[]) =>
  run('ovn-sbctl', [`--private-key=${hv1.key}`, `--certificate=${hv1.cert}`, `--ca-cert=${ca.cert}`, `--db=ssl:127.0.0.1:${port}`, '--timeout=20', ...args], { env: tmp.env });

describe('RBAC with client certificates', () => {
  it('lets chassis hv1 register itself and change its own row', async () => {
    expect(await asHv1('chassis-add', 'hv1', 'geneve', '10.0.0.1')).toMatchObject({ code: 0, stderr: '' });
    expect(await asHv1('set', 'Chassis', 'hv1', 'external_ids:owner=me')).toMatchObject({ code: 0, stderr: '' });
    const r = await run('ovn-sbctl', [`--db=${srv.remote}`, 'get', 'Chassis', 'hv1', 'external_ids:owner'], { env: tmp.env });
    expect(r.stdout).toBe('me\n');
  });

  it('refuses hv1 writing a row that names another chassis', async () => {
    const r = await asHv1('chassis-add', 'hv2', 'geneve', '10.0.0.2');
    expect(r.code).not.toBe(0);
    // Both inserts are refused; ovn-sbctl orders the two operations by hash, so either is reported first
    // (as the real server does: RBAC is checked operation by operation).
    const refusal = (table: string) =>
      `{"details":"RBAC rules for client \\"hv1\\" role \\"ovn-controller\\" prohibit row insertion into table \\"${table}\\".","error":"permission error"}`;
    expect([refusal('Encap'), refusal('Chassis')].filter((t) => r.stderr.includes(t))).toHaveLength(1);
  });

  it('refuses hv1 changing columns or tables outside its permissions', async () => {
    const col = await asHv1('set', 'Chassis', 'hv1', 'hostname=other');
    expect(col.stderr).toContain('prohibit modification of table \\"Chassis\\".');
    const table = await asHv1('create', 'Datapath_Binding', 'tunnel_key=7');
    expect(table.stderr).toContain('prohibit row insertion into table \\"Datapath_Binding\\".');
  });

  it('leaves the role-less local socket unrestricted', async () => {
    const r = await run('ovn-sbctl', [`--db=${srv.remote}`, 'chassis-add', 'hv2', 'geneve', '10.0.0.2'], { env: tmp.env });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const names = await run('ovn-sbctl', [`--db=${srv.remote}`, '--bare', '--columns=name', 'list', 'Chassis'], { env: tmp.env });
    expect(names.stdout.split('\n').filter(Boolean).sort()).toEqual(['hv1', 'hv2']);
  });
});
