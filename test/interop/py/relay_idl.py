#!/usr/bin/python3
"""ovs.db.idl through a relay, ovn-controller style, for the relay interop tests.

usage: relay_idl.py REMOTE SB_SCHEMA CHASSIS HOSTNAME
Monitors Chassis with the condition name == CHASSIS, leader_only off (a relay is never a leader), prints
the chassis names it holds once synced (JSON), then sets that chassis's hostname through the relay and
prints the commit status. Gives up after 20 s (exit 2).
"""
import json
import sys
import time

import ovs.db.idl
import ovs.poller

remote, schema, chassis, hostname = sys.argv[1:5]
deadline = time.monotonic() + 20

helper = ovs.db.idl.SchemaHelper(location=schema)
helper.register_table("Chassis")
idl = ovs.db.idl.Idl(remote, helper, leader_only=False)
idl.cond_change("Chassis", [["name", "==", chassis]])

while not (idl.has_ever_connected() and idl.tables["Chassis"].rows):
    if time.monotonic() > deadline:
        print("timeout", flush=True)
        sys.exit(2)
    idl.run()
    poller = ovs.poller.Poller()
    idl.wait(poller)
    poller.timer_wait(100)
    poller.block()

print(json.dumps(sorted(r.name for r in idl.tables["Chassis"].rows.values())), flush=True)
txn = ovs.db.idl.Transaction(idl)
row = next(iter(idl.tables["Chassis"].rows.values()))
row.hostname = hostname
print(txn.commit_block(), flush=True)
idl.close()
