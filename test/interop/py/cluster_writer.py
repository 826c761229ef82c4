#!/usr/bin/python3
"""ovs.db.idl as a leader-only writer to a clustered OVN_Northbound, for the cluster client tests.

usage: cluster_writer.py REMOTES NB_SCHEMA PREFIX STOPFILE
REMOTES is a comma-separated list (the IDL picks the leader, raft.md §3.2). Inserts Logical_Switch rows
named PREFIX<n> one transaction at a time until STOPFILE exists, printing one line per outcome:
  "ready"                   once the IDL has its first contents
  "server <remote>"         whenever the IDL is connected to another server than before
  "ack <name>"              the commit succeeded
  "unknown <name> <status>" any other outcome (try again, error...): the commit may or may not have happened;
                            the next transaction uses a new name, so a retry never writes a name twice
Gives up after 120 s (exit 2).
"""
import os
import sys
import time

import ovs.db.idl
import ovs.poller

remotes, schema, prefix, stopfile = sys.argv[1:5]
deadline = time.monotonic() + 120

helper = ovs.db.idl.SchemaHelper(location=schema)
helper.register_columns("Logical_Switch", ["name"])
idl = ovs.db.idl.Idl(remotes, helper, leader_only=True)


def step():
    idl.run()
    poller = ovs.poller.Poller()
    idl.wait(poller)
    poller.timer_wait(100)
    poller.block()


while not idl.has_ever_connected():
    if time.monotonic() > deadline:
        print("timeout", flush=True)
        sys.exit(2)
    step()
print("ready", flush=True)

server = None
n = 0
while not os.path.exists(stopfile):
    if time.monotonic() > deadline:
        print("timeout", flush=True)
        sys.exit(2)
    if not idl._session.is_connected():
        step()
        continue
    name = idl._session.get_name()
    if name != server:
        server = name
        print("server %s" % server, flush=True)
    txn = ovs.db.idl.Transaction(idl)
    row = txn.insert(idl.tables["Logical_Switch"])
    row.name = "%s%d" % (prefix, n)
    status = txn.commit_block()
    if status == ovs.db.idl.Transaction.SUCCESS:
        print("ack %s%d" % (prefix, n), flush=True)
    else:
        print("unknown %s%d %s" % (prefix, n, status), flush=True)
        # As an application does: wait for the IDL to change (reconnected, resynced) before trying again.
        seqno = idl.change_seqno
        until = time.monotonic() + 1
        while idl.change_seqno == seqno and time.monotonic() < until:
            step()
    n += 1
idl.close()
