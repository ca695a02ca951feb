"""The peer nodes whose maps the page shows: --node URLs and the `nodes` table."""

import logging
from urllib.parse import urlsplit

log = logging.getLogger(__name__)


def node_name(url):
    """A display name for a --node URL: its host[:port]."""
    return urlsplit(url).netloc or url


def merge_nodes(cli_urls, db_rows, localhost=None):
    """(name, url) pairs: the --node URLs first, then the table's rows (name, url) whose URL is not
    already listed, except the row named `localhost` (this node, shown anyway). Trailing
    slashes do not make two URLs different."""
    seen = set()
    nodes = []
    rows = sorted(row for row in db_rows if row[0] != localhost)
    for name, url in [(node_name(u), u) for u in cli_urls] + rows:
        key = url.rstrip("/")
        if key and key not in seen:
            seen.add(key)
            nodes.append((name, key))
    return nodes


class NodeList:
    """Reads the nodes table at each check; keeps the last good list if the database fails."""

    def __init__(self, cli_urls, dsn=None, localhost=None):
        self.cli_urls = list(cli_urls)
        self.localhost = localhost
        self.db = None
        if dsn:
            from common.database import DBManager
            self.db = DBManager(dsn)
        self._db_rows = []

    def get(self):
        if self.db is not None:
            try:
                self._db_rows = self._read()
            except Exception as e:
                log.warning("cannot read the nodes table (showing the last known nodes): %s", e)
        return merge_nodes(self.cli_urls, self._db_rows, self.localhost)

    def _read(self):
        from common.database import query
        conn = self.db.get_conn()  # a new connection each check (once a minute): no stale ones
        try:
            return [(row.name, row.url) for row in query(conn, "SELECT name, url FROM nodes")]
        finally:
            conn.close()
