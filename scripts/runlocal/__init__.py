"""The local supervisor behind ./run-local: one node of the suite on one machine.

Modules: options (command line -> Plan), services (Plan -> service command lines),
database (find or start Postgres), supervisor (child processes, logs, shutdown),
banner (what to tell the user), main (wires them together).
"""
