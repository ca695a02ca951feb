"""The list of peers to backfill from: --node URLs, a node file and the database `nodes` table.

Parsing and merging are pure; reading the file and the table are the only I/O here.
"""

import logging
import urllib.parse
from typing import NamedTuple

log = logging.getLogger(__name__)


class Peer(NamedTuple):
    name: str   # used in logs and as the `peer` metric label (bounded: one per configured node)
    url: str    # base URL of the peer's restreamer, without a trailing slash


def normalize_url(url):
    """Check that url is an http(s) base URL and strip any trailing slash; ValueError if not."""
    url = url.strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"bad peer URL {url!r}: expected http://HOST[:PORT][/PATH]")
    if parts.query or parts.fragment:
        raise ValueError(f"bad peer URL {url!r}: no query or fragment allowed")
    return url.rstrip("/")


def peer_from_url(url):
    """A --node URL: its name is the URL's host[:port], which is what an operator will recognise."""
    url = normalize_url(url)
    return Peer(urllib.parse.urlsplit(url).netloc, url)


def parse_node_file(text, source="node file"):
    """`NAME URL` per line; `#` starts a comment; blank lines are ignored.

    Raises ValueError naming the line for anything else, so that a typo is not silently
    dropped from the peer list."""
    peers = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) != 2:
            raise ValueError(f"{source} line {number}: expected 'NAME URL', got {line!r}")
        name, url = fields
        try:
            peers.append(Peer(name, normalize_url(url)))
        except ValueError as e:
            raise ValueError(f"{source} line {number}: {e}") from None
    return peers


def merge_peers(sources, localhost):
    """Merge peer lists, dropping this node itself and duplicates.

    `sources` is a list of peer lists, earlier ones taking precedence when two entries share a
    name or a URL. This node is recognised by its name, or by a URL whose host is its name
    (so `--node http://HOSTNAME:8000` given to every node in a cluster is harmless).
    Returns peers sorted by name, for stable logs.
    """
    by_name = {}
    urls = set()
    for peers in sources:
        for peer in peers:
            if is_self(peer, localhost):
                continue
            if peer.name in by_name or peer.url in urls:
                continue
            by_name[peer.name] = peer
            urls.add(peer.url)
    return sorted(by_name.values())


def is_self(peer, localhost):
    if not localhost:
        return False
    host = urllib.parse.urlsplit(peer.url).hostname or ""
    return peer.name == localhost or host.lower() == localhost.lower()


def read_node_file(path):
    """Read and parse a node file. OSError/ValueError propagate with the path in the message."""
    with open(path, encoding="utf-8") as f:
        return parse_node_file(f.read(), source=path)


def read_database_nodes(conn):
    """Peers from the `nodes` table (rows with backfill_from). Bad URLs are logged and skipped:
    one bad row must not stop backfilling from the good ones."""
    from common.database import query
    peers = []
    for name, url in query(conn, "SELECT name, url FROM nodes WHERE backfill_from ORDER BY name"):
        try:
            peers.append(Peer(name, normalize_url(url)))
        except ValueError as e:
            log.warning("ignoring row %r of the nodes table: %s", name, e)
    return peers
