// The real ovs-vsctl (--no-wait: there is no ovs-vswitchd) against our server, each step also run on the
// real ovsdb-server: outputs must be identical once UUIDs are masked.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { TempDir, Server, startServer, SCHEMA, IMPLS, maskUuids, sortedLines, type Impl, type Outcome } from './lib/harness.ts';

let tmp: TempDir;
const srv = {} as Record<Impl, Server>;

beforeAll(async () => {
  tmp = new TempDir();
  await Promise.all(IMPLS.map(async (impl) => (srv[impl] = await startServer(impl, tmp, [SCHEMA.vswitch]))));
});

afterAll(async () => {
  await Promise.all(IMPLS.map((impl) => srv[impl]?.stop()));
  tmp?.cleanup();
});

/** Run one ovs-vsctl command line on both servers; expect the same result; return ours (UUIDs masked). */
async function vsctl(...args: string[]): Promise<Outcome> {
  const [ours, real] = await Promise.all(IMPLS.map((i) => srv[i].vsctl(...args)));
  const mask = (o: Outcome): Outcome => ({ ...o, stdout: maskUuids(o.stdout), stderr: maskUuids(o.stderr) });
  expect(mask(ours), args.join(' ')).toEqual(mask(real));
  return mask(ours);
}

/**
 * Same, for outputs listing several rows: their order follows the rows' UUIDs, which differ between the
 * servers, so compare the sorted lines with every UUID replaced by one placeholder.
 */
async function vsctlRows(...args: string[]): Promise<string[]> {
  const [ours, real] = await Promise.all(IMPLS.map((i) => srv[i].vsctl(...args)));
  const norm = (o: Outcome) => ({ code: o.code, stderr: o.stderr, lines: sortedLines(o.stdout.replace(UUID_G, '<uuid>')) });
  expect(norm(ours), args.join(' ')).toEqual(norm(real));
  return norm(ours).lines;
}
const UUID_G = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

describe('ovs-vsctl --no-wait', () => {
  it('init, add-br, add-port and show', async () => {
    expect(await vsctl('init')).toMatchObject({ code: 0, stdout: '' });
    await vsctl('add-br', 'br0');
    await vsctl('add-port', 'br0', 'p1');
    await vsctl('add-port', 'br0', 'p2', '--', 'set', 'Interface', 'p2', 'type=internal');
    expect((await vsctl('list-br')).stdout).toBe('br0\n');
    expect((await vsctl('list-ports', 'br0')).stdout).toBe('p1\np2\n');
    expect((await vsctl('list-ifaces', 'br0')).stdout).toBe('p1\np2\n');
    expect((await vsctl('port-to-br', 'p1')).stdout).toBe('br0\n');
    const show = await vsctlRows('show');
    expect(show).toEqual(
      ['                type: internal', '                type: internal', '            Interface br0', '            Interface p1', '            Interface p2', '        Port br0', '        Port p1', '        Port p2', '    Bridge br0', '<uuid>'],
    );
  });

  it('the integration-guide columns: system-id, bridge-id, hwaddr, iface-id / attached-mac / iface-status / vm-id', async () => {
    await vsctl('set', 'Open_vSwitch', '.', 'external_ids:system-id=host-1');
    await vsctl('set', 'Bridge', 'br0', 'external_ids:bridge-id=br0', 'other_config:hwaddr="00:11:22:33:44:55"');
    await vsctl(
      'set', 'Interface', 'p1',
      'external_ids:iface-id=vif-1', 'external_ids:attached-mac="00:aa:bb:cc:dd:ee"', 'external_ids:iface-status=active', 'external_ids:vm-id=vm-1',
    );
    expect((await vsctl('get', 'Open_vSwitch', '.', 'external_ids:system-id')).stdout).toBe('host-1\n');
    expect((await vsctl('get', 'Bridge', 'br0', 'external_ids:bridge-id', 'other_config:hwaddr')).stdout).toBe('br0\n"00:11:22:33:44:55"\n');
    expect((await vsctl('get', 'Interface', 'p1', 'external_ids')).stdout).toBe('{attached-mac="00:aa:bb:cc:dd:ee", iface-id=vif-1, iface-status=active, vm-id=vm-1}\n');
    expect((await vsctl('--columns=name', 'find', 'Interface', 'external_ids:iface-id=vif-1')).stdout).toBe('name                : p1\n');
    expect((await vsctl('--bare', '--columns=name', 'find', 'Interface', 'external_ids:iface-status=active')).stdout).toBe('p1\n');
    expect((await vsctl('find', 'Interface', 'external_ids:iface-id=nope')).stdout).toBe('');
    // remove / clear / --if-exists on the same columns
    await vsctl('remove', 'Interface', 'p1', 'external_ids', 'iface-status');
    await vsctl('clear', 'Bridge', 'br0', 'other_config');
    expect((await vsctl('get', 'Interface', 'p1', 'external_ids:iface-status')).code).toBe(1);
    expect((await vsctl('--if-exists', 'get', 'Interface', 'p1', 'external_ids:iface-status')).stdout).toBe('\n');
    expect((await vsctl('get', 'Bridge', 'br0', 'other_config')).stdout).toBe('{}\n');
  });

  it('list and find print whole records alike', async () => {
    for (const t of ['Open_vSwitch', 'Bridge', 'Port', 'Interface']) {
      const lines = await vsctlRows('list', t);
      expect(lines.length).toBeGreaterThan(0);
    }
    const r = await vsctl('--columns=name,external_ids', 'list', 'Interface', 'p1');
    expect(r.stdout).toBe('name                : p1\nexternal_ids        : {attached-mac="00:aa:bb:cc:dd:ee", iface-id=vif-1, vm-id=vm-1}\n');
    expect((await vsctl('--format=json', '--columns=name', 'find', 'Bridge', 'name=br0')).stdout).toBe('{"data":[["br0"]],"headings":["name"]}\n');
  });

  it('errors: a missing bridge, a duplicate port, a bad column', async () => {
    expect((await vsctl('add-port', 'nope', 'p9')).code).toBe(1);
    expect((await vsctl('add-port', 'br0', 'p1')).code).toBe(1);
    expect((await vsctl('set', 'Bridge', 'br0', 'nocolumn=1')).code).toBe(1);
    expect((await vsctl('--may-exist', 'add-port', 'br0', 'p1')).code).toBe(0);
  });

  it('del-port and del-br garbage-collect Port and Interface rows', async () => {
    await vsctl('del-port', 'br0', 'p2');
    expect(await vsctlRows('--bare', '--columns=name', 'list', 'Interface')).toEqual(['br0', 'p1']);
    await vsctl('add-br', 'br1');
    await vsctl('add-bond', 'br1', 'bond0', 'e1', 'e2');
    await vsctl('del-br', 'br0');
    expect((await vsctl('list-br')).stdout).toBe('br1\n');
    expect(await vsctlRows('--bare', '--columns=name', 'list', 'Port')).toEqual(['bond0', 'br1']);
    await vsctl('del-br', 'br1');
    for (const t of ['Bridge', 'Port', 'Interface']) expect((await vsctl('list', t)).stdout, t).toBe('');
    // The root row survives and still carries its external_ids.
    expect((await vsctl('get', 'Open_vSwitch', '.', 'external_ids:system-id')).stdout).toBe('host-1\n');
    expect((await vsctl('get', 'Open_vSwitch', '.', 'bridges')).stdout).toBe('[]\n');
  });
});
