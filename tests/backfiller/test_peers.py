"""Peer list: parsing, merging, leaving out this node; the nodes table of a real Postgres."""

import psycopg2
import pytest

from backfiller.daemon import PeerSources
from backfiller.peers import Peer, merge_peers, parse_node_file, peer_from_url

NODE_FILE = """
# name url
alpha http://alpha.example:8000/   # trailing slash and comment
beta  https://beta.example/restreamer

gamma http://10.0.0.3:8000
"""


def test_node_file_parses_names_urls_and_comments():
    assert parse_node_file(NODE_FILE) == [
        Peer("alpha", "http://alpha.example:8000"),
        Peer("beta", "https://beta.example/restreamer"),
        Peer("gamma", "http://10.0.0.3:8000"),
    ]


@pytest.mark.parametrize("line, message", [
    ("alpha", "expected 'NAME URL'"),
    ("alpha http://a b", "expected 'NAME URL'"),
    ("alpha ftp://a", "bad peer URL"),
    ("alpha http://", "bad peer URL"),
])
def test_bad_node_file_lines_name_the_line(line, message):
    with pytest.raises(ValueError, match=f"nodes.txt line 2: {message}"):
        parse_node_file("# ok\n" + line, source="nodes.txt")


def test_url_peers_are_named_by_host_and_port():
    assert peer_from_url("http://127.0.0.1:8000/") == Peer("127.0.0.1:8000", "http://127.0.0.1:8000")


def test_merge_drops_this_node_and_duplicates_earlier_sources_win():
    cli = [peer_from_url("http://alpha.example:8000"), peer_from_url("http://me:8000")]
    file = [Peer("alpha", "http://alpha.example:8000"), Peer("beta", "http://b:8000"),
            Peer("me", "http://10.0.0.9:8000")]
    db = [Peer("beta", "http://other:8000"), Peer("delta", "http://d:8000")]
    merged = merge_peers([cli, file, db], localhost="me")
    assert merged == [
        Peer("alpha.example:8000", "http://alpha.example:8000"),
        Peer("beta", "http://b:8000"),
        Peer("delta", "http://d:8000"),
    ]


def test_database_nodes_are_read_and_refreshed(db_dsn):
    sources = PeerSources(dsn=db_dsn, localhost="me")
    assert sources.read(strict=True) == []  # schema applied on first connect; table empty
    conn = psycopg2.connect(db_dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("INSERT INTO nodes (name, url) VALUES ('a', 'http://a:8000/'), "
                    "('me', 'http://me:8000'), ('bad', 'not a url')")
        cur.execute("INSERT INTO nodes (name, url, backfill_from) VALUES ('off', 'http://o', false)")
    assert sources.read() == [Peer("a", "http://a:8000")]
    with conn.cursor() as cur:
        cur.execute("INSERT INTO nodes (name, url) VALUES ('b', 'http://b:8000')")
    assert sources.read() == [Peer("a", "http://a:8000"), Peer("b", "http://b:8000")]
    conn.close()


def test_unreadable_sources_keep_the_last_good_list(tmp_path):
    path = tmp_path / "nodes.txt"
    path.write_text("a http://a:8000\n")
    sources = PeerSources(node_file=str(path), dsn="host=127.0.0.1 port=1 connect_timeout=1")
    assert sources.read() == [Peer("a", "http://a:8000")]
    path.write_text("broken line here\n")
    assert sources.read() == [Peer("a", "http://a:8000")]
    with pytest.raises(ValueError):
        sources.read(strict=True)



def test_a_failed_peer_read_is_retried_soon_not_after_a_whole_refresh(monkeypatch):
    """Postgres still starting next to the backfiller (docker compose up) must not leave it
    without peers until the next --node-refresh: failed reads are retried sooner, backing off."""
    from backfiller import daemon

    class Sources:
        def __init__(self, failures):
            self.reads, self.failures, self.failing = 0, failures, False

        def read(self, strict=False):
            self.reads += 1
            self.failing = self.reads in self.failures
            return []

    class Stop:
        """Records each wait instead of waiting; set after the sixth."""
        def __init__(self):
            self.waits = []

        def is_set(self):
            return len(self.waits) >= 6

        def wait(self, seconds):
            self.waits.append(seconds)

    monkeypatch.setattr(daemon, "jitter", lambda seconds: seconds)
    class Greenlet:
        def kill(self):
            pass

    monkeypatch.setattr(daemon.gevent, "spawn", lambda *args: Greenlet())
    monkeypatch.setattr(daemon.gevent, "killall", lambda *args, **kwargs: None)
    # Reads 1-3 fail (the database is starting), 4 works, 5 fails again (a restart), 6 works.
    sources = Sources(failures={1, 2, 3, 5})
    backfiller = daemon.Backfiller(settings=None, sources=sources, make_client=None,
                                   pass_interval=60, node_refresh=60)
    backfiller.sync = lambda peers, stop: None
    backfiller._maybe_prune = lambda: None
    stop = Stop()
    backfiller.run(stop)
    retry = daemon.READ_RETRY
    assert stop.waits == [retry, 2 * retry, 4 * retry, 60, retry, 60]


def test_peer_sources_say_when_a_source_failed(tmp_path):
    path = tmp_path / "nodes.txt"
    path.write_text("a http://a:8000\n")
    sources = PeerSources(node_file=str(path))
    sources.read()
    assert not sources.failing
    path.write_text("broken line here\n")
    sources.read()
    assert sources.failing
