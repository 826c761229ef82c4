#!/usr/bin/python3
"""A small ovs.db.idl client for the interop tests.

usage: idl_client.py REMOTE SCHEMA MODE [ARG]
  read            print the Bridge names (sorted, JSON) once the first full update has arrived
  commit NAME     add a Bridge NAME to the Open_vSwitch row; print the commit status
  watch NAME      print "ready" once synced, then "seen NAME" once another client adds that Bridge
Every mode gives up after 20 s (exit 2), so a hang becomes a test failure, not a stuck test.
"""
import json
import sys
import time

import ovs.db.idl
import ovs.poller

remote, schema, mode = sys.argv[1], sys.argv[2], sys.argv[3]
arg = sys.argv[4] if len(sys.argv) > 4 else None
deadline = time.monotonic() + 20

helper = ovs.db.idl.SchemaHelper(location=schema)
helper.register_columns("Open_vSwitch", ["bridges", "external_ids"])
helper.register_columns("Bridge", ["name", "external_ids"])
idl = ovs.db.idl.Idl(remote, helper)


def step():
    if time.monotonic() > deadline:
        print("timeout", flush=True)
        sys.exit(2)
    poller = ovs.poller.Poller()
    idl.wait(poller)
    poller.timer_wait(100)
    poller.block()
    idl.run()


def bridge_names():
    return sorted(r.name for r in idl.tables["Bridge"].rows.values())


idl.run()
while not idl.has_ever_connected():
    step()

if mode == "read":
    print(json.dumps(bridge_names()), flush=True)
elif mode == "commit":
    while True:
        txn = ovs.db.idl.Transaction(idl)
        root = next(iter(idl.tables["Open_vSwitch"].rows.values()))
        br = txn.insert(idl.tables["Bridge"])
        br.name = arg
        br.external_ids = {"by": "python"}
        root.verify("bridges")
        root.bridges = list(root.bridges) + [br]
        status = txn.commit_block()
        if status != ovs.db.idl.Transaction.TRY_AGAIN:
            break
        step()
    print(ovs.db.idl.Transaction.status_to_string(status), flush=True)
    # The IDL sees its own change come back from the server.
    while arg not in bridge_names():
        step()
    print(json.dumps(bridge_names()), flush=True)
elif mode == "watch":
    print("ready", flush=True)
    while arg not in bridge_names():
        step()
    row = next(r for r in idl.tables["Bridge"].rows.values() if r.name == arg)
    print("seen %s %s" % (arg, json.dumps(dict(row.external_ids), sort_keys=True)), flush=True)
else:
    sys.exit("unknown mode " + mode)
idl.close()
