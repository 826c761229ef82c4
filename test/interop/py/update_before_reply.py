#!/usr/bin/python3
"""Is a monitor's update written before the writer's transaction reply?

usage: update_before_reply.py SOCKET DB TABLE COLUMN COUNT WATCHERS
WATCHERS connections monitor TABLE (monitor_cond, COLUMN only); another connection inserts COUNT rows,
one transaction at a time. As soon as each reply has arrived, every watcher's socket is read without
blocking: the update of that commit must already be there. Prints "on time N" when it was every time,
else "late at I" for the first commit whose update some watcher had not yet been sent.
"""
import json
import socket
import sys

path, db, table, column = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
count, n_watchers = int(sys.argv[5]), int(sys.argv[6])


class Conn:
    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = b""
        self.dec = json.JSONDecoder()

    def send(self, obj):
        self.s.sendall(json.dumps(obj).encode())

    def messages(self):
        out = []
        text = self.buf.decode()
        pos = 0
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            try:
                obj, end = self.dec.raw_decode(text, pos)
            except ValueError:
                break
            out.append(obj)
            pos = end
        self.buf = text[pos:].encode()
        return out

    def wait_reply(self, rid):
        while True:
            for m in self.messages():
                if m.get("id") == rid and "result" in m:
                    return m
            self.buf += self.s.recv(65536)

    def read_now(self):
        self.s.setblocking(False)
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    break
                self.buf += chunk
        except BlockingIOError:
            pass
        finally:
            self.s.setblocking(True)
        return self.messages()


watchers = []
for k in range(n_watchers):
    w = Conn()
    w.send({"id": "m", "method": "monitor_cond", "params": [db, "w", {table: [{"columns": [column]}]}]})
    w.wait_reply("m")
    watchers.append(w)
writer = Conn()
for i in range(count):
    writer.send({"id": i, "method": "transact",
                 "params": [db, {"op": "insert", "table": table, "row": {column: "ubr-%d" % i}}]})
    writer.wait_reply(i)
    for w in watchers:
        if not [m for m in w.read_now() if m.get("method") == "update2"]:
            print("late at %d" % i, flush=True)
            sys.exit(1)
print("on time %d" % count, flush=True)
