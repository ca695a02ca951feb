"""The peer nodes shown on the page: --node URLs and the nodes table (real Postgres)."""

import psycopg2

from segment_coverage.nodes import NodeList, merge_nodes


def test_merge_nodes():
    nodes = merge_nodes(["http://a:8000/", "http://b:8000"],
                        [("zed", "http://z:8000"), ("b-again", "http://b:8000/"), ("c", "")])
    assert nodes == [("a:8000", "http://a:8000"), ("b:8000", "http://b:8000"),
                     ("zed", "http://z:8000")]
    # this node's row of the table is left out
    assert merge_nodes([], [("me", "http://me:8000"), ("you", "http://you:8000")],
                       localhost="me") == [("you", "http://you:8000")]


def test_nodes_table_is_read_at_each_call(db_dsn):
    nodes = NodeList(["http://cli:8000"], db_dsn)
    assert nodes.get() == [("cli:8000", "http://cli:8000")]  # schema applied, table empty
    conn = psycopg2.connect(db_dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("INSERT INTO nodes (name, url) VALUES ('beta', 'http://beta:8000'), "
                    "('alpha', 'http://alpha:8000/')")
    assert nodes.get() == [("cli:8000", "http://cli:8000"), ("alpha", "http://alpha:8000"),
                           ("beta", "http://beta:8000")]
    conn.close()


def test_unreachable_database_keeps_the_last_list(db_dsn, caplog):
    nodes = NodeList([], db_dsn)
    conn = psycopg2.connect(db_dsn)
    conn.autocommit = True
    nodes.get()
    with conn.cursor() as cur:
        cur.execute("INSERT INTO nodes (name, url) VALUES ('beta', 'http://beta:8000')")
    conn.close()
    assert nodes.get() == [("beta", "http://beta:8000")]
    nodes.db.dsn = "host=127.0.0.1 port=1 dbname=nothing connect_timeout=2"
    assert nodes.get() == [("beta", "http://beta:8000")]
    assert "cannot read the nodes table" in caplog.text
