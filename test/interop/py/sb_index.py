#!/usr/bin/python3
"""The Python IDL with an index on a reference column, as ovsdbapp's indexed tables build it.

usage: sb_index.py REMOTE SCHEMA TABLE COLUMN COUNT
Registers every table, indexes TABLE on COLUMN (a reference column), prints "ready" once the initial
contents have arrived and "rows N" whenever TABLE's row count changes, until it has COUNT rows; then the
type of each row's COLUMN in index order ("TABLE.COLUMN -> Row", or "-> Atom" for a reference the IDL
could not resolve when the row arrived). An exception inside the IDL prints "crash: TYPE: MESSAGE" and
exits 3 (IDX_TRACE=1 adds the traceback); giving up after 20 s exits 2.
"""
import sys
import time

import ovs.db.idl
import ovs.poller

remote, schema, table, column, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
deadline = time.monotonic() + 20

helper = ovs.db.idl.SchemaHelper(location=schema)
helper.register_all()
idl = ovs.db.idl.Idl(remote, helper)
index = idl.tables[table].rows.index_create("by_" + column)
index.add_column(column)


def step():
    if time.monotonic() > deadline:
        print("timeout", flush=True)
        sys.exit(2)
    poller = ovs.poller.Poller()
    idl.wait(poller)
    poller.timer_wait(100)
    poller.block()
    try:
        idl.run()
    except Exception as e:  # the IDL does not recover from this: report it
        print("crash: %s: %s" % (type(e).__name__, e), flush=True)
        import traceback, os
        if os.environ.get("IDX_TRACE"): traceback.print_exc()
        sys.exit(3)


step()
while not idl.has_ever_connected():
    step()
print("ready", flush=True)
seen = 0
while seen < count:
    step()
    if len(idl.tables[table].rows) != seen:
        seen = len(idl.tables[table].rows)
        print("rows %d" % seen, flush=True)
for entry in index.values:
    print("%s.%s -> %s" % (table, column, type(getattr(entry, column)).__name__), flush=True)
idl.close()
