"""Parts of bench/soak.py: the faulty origin, the nodes, the fault schedule, the load, the
resource samples and the invariants checked at the end."""
