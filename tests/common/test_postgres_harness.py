import psycopg2


def test_throwaway_database_is_usable_and_empty(db_dsn):
    with psycopg2.connect(db_dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT current_database()")
        assert cur.fetchone()[0].startswith("test_")
