// RBAC on the OVN_Southbound schema, with the permissions ovn-northd installs for ovn-controller.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../schema/json.ts';
import { createDatabase, transactJson } from '../../storage/index.ts';
import type { Database } from '../../storage/database.ts';

const SB = '/usr/share/ovn/ovn-sb.ovsschema';
const have = fs.existsSync(SB);

function setup(): Database {
  const db = createDatabase(JSON.parse(fs.readFileSync(SB, 'utf8')));
  const r = transactJson(db, [
    { op: 'insert', table: 'RBAC_Permission', 'uuid-name': 'pc',
      row: { table: 'Chassis', authorization: ['set', ['name']], insert_delete: true,
             update: ['set', ['nb_cfg', 'external_ids', 'encaps', 'vtep_logical_switches']] } },
    { op: 'insert', table: 'RBAC_Permission', 'uuid-name': 'pb',
      row: { table: 'Port_Binding', authorization: ['set', ['']], insert_delete: false, update: ['set', ['chassis']] } },
    { op: 'insert', table: 'RBAC_Permission', 'uuid-name': 'pe',
      row: { table: 'Encap', authorization: ['set', ['chassis_name']], insert_delete: true, update: ['set', ['type', 'options', 'ip']] } },
    { op: 'insert', table: 'RBAC_Role',
      row: { name: 'ovn-controller', permissions: ['map', [['Chassis', ['named-uuid', 'pc']], ['Encap', ['named-uuid', 'pe']], ['Port_Binding', ['named-uuid', 'pb']]]] } },
  ]);
  expect(JSON.stringify(r)).not.toContain('error');
  return db;
}

const who = (id: string) => ({ rbac: { role: 'ovn-controller', id } });
const chassis = (name: string): JsonValue => ({
  op: 'insert', table: 'Chassis', row: { name, hostname: name, encaps: ['named-uuid', 'e'] } });
const encap = (name: string): JsonValue => ({
  op: 'insert', table: 'Encap', 'uuid-name': 'e', row: { type: 'geneve', ip: `10.0.0.${name.length}${name.charCodeAt(name.length - 1)}`, chassis_name: name } });

describe.skipIf(!have)('RBAC (OVN_Southbound)', () => {
  it('lets a chassis insert its own row, not another one', () => {
    const db = setup();
    const ok = transactJson(db, [encap('hv1'), chassis('hv1')], who('hv1'));
    expect(ok).toHaveLength(2);
    expect(ok[1]).toHaveProperty('uuid');
    // The Encap names another chassis: refused before the Chassis row is even tried.
    expect(transactJson(db, [encap('hv2'), chassis('hv2')], who('hv1'))).toEqual([
      {
        error: 'permission error',
        details: 'RBAC rules for client "hv1" role "ovn-controller" prohibit row insertion into table "Encap".',
      },
      null,
    ]);
    expect(transactJson(db, [encap('hv1'), chassis('hv2')], who('hv1'))[1]).toEqual({
      error: 'permission error',
      details: 'RBAC rules for client "hv1" role "ovn-controller" prohibit row insertion into table "Chassis".',
    });
  });

  it('limits updates to its own rows and to the permitted columns', () => {
    const db = setup();
    transactJson(db, [encap('hv1'), chassis('hv1')]);
    transactJson(db, [encap('hv2'), chassis('hv2')]);
    const own = { op: 'update', table: 'Chassis', where: [['name', '==', 'hv1']], row: { external_ids: ['map', [['k', 'v']]] } };
    expect(transactJson(db, [own], who('hv1'))).toEqual([{ count: 1 }]);
    const other = { op: 'update', table: 'Chassis', where: [['name', '==', 'hv2']], row: { external_ids: ['map', [['k', 'v']]] } };
    expect(transactJson(db, [other], who('hv1'))[0]).toEqual({
      error: 'permission error',
      details: 'RBAC rules for client "hv1" role "ovn-controller" prohibit modification of table "Chassis".',
    });
    const column = { op: 'update', table: 'Chassis', where: [['name', '==', 'hv1']], row: { hostname: 'x' } };
    expect(transactJson(db, [column], who('hv1'))[0]).toEqual({
      error: 'permission error',
      details: 'RBAC rules for client "hv1" role "ovn-controller" prohibit modification of table "Chassis".',
    });
    const mutate = { op: 'mutate', table: 'Chassis', where: [['name', '==', 'hv2']], mutations: [['nb_cfg', '+=', 1]] };
    expect(transactJson(db, [mutate], who('hv1'))[0]).toEqual({
      error: 'permission error',
      details: 'RBAC rules for client "hv1" role "ovn-controller" prohibit mutate operation on table "Chassis".',
    });
    const del = { op: 'delete', table: 'Chassis', where: [['name', '==', 'hv2']] };
    expect(transactJson(db, [{ op: 'select', table: 'Chassis', where: [], columns: ['name'], sort: ['name'] }])).toEqual([
      { rows: [{ name: 'hv1' }, { name: 'hv2' }] },
    ]);
    expect(transactJson(db, [del], who('hv1'))[0]).toEqual({
      error: 'permission error',
      details: 'RBAC rules for client "hv1" role "ovn-controller" prohibit row deletion from table "Chassis".',
    });
    expect(transactJson(db, [{ op: 'delete', table: 'Chassis', where: [['name', '==', 'hv1']] }], who('hv1'))).toEqual([{ count: 1 }]);
  });

  it('refuses tables the role has no permission for, and allows everything without a role', () => {
    const db = setup();
    const lf = { op: 'insert', table: 'SB_Global', row: {} };
    expect(transactJson(db, [lf], who('hv1'))[0]).toEqual({
      error: 'permission error',
      details: 'RBAC rules for client "hv1" role "ovn-controller" prohibit row insertion into table "SB_Global".',
    });
    expect(transactJson(db, [lf])[0]).toHaveProperty('uuid');
  });
});
