-- Schema of the archiving suite. Applied by every service at start-up (under an advisory lock),
-- so every statement here must be idempotent: safe to run again and again on a database that
-- already has any earlier version of this schema. Never drop or rename anything here; only add.
-- Times are naive UTC (timestamp without time zone).

-- States of an event's cut (see cutter/README.md):
--   UNEDITED -> EDITED -> CLAIMED -> FINALIZING -> TRANSCODING -> DONE
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'event_state') THEN
        CREATE TYPE event_state AS ENUM (
            'UNEDITED', 'EDITED', 'CLAIMED', 'FINALIZING', 'TRANSCODING', 'DONE'
        );
    END IF;
END
$$;

CREATE TABLE IF NOT EXISTS events (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid()
);

-- Event info.
ALTER TABLE events ADD COLUMN IF NOT EXISTS event_start TIMESTAMP;
ALTER TABLE events ADD COLUMN IF NOT EXISTS event_end TIMESTAMP;
ALTER TABLE events ADD COLUMN IF NOT EXISTS category TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS description TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS notes TEXT NOT NULL DEFAULT '';

-- Edit inputs (what the editor asks the cutter to make).
ALTER TABLE events ADD COLUMN IF NOT EXISTS allow_holes BOOLEAN NOT NULL DEFAULT FALSE;
-- NULL: any cutter may claim it; otherwise only the named cutters.
ALTER TABLE events ADD COLUMN IF NOT EXISTS uploader_whitelist TEXT[];
ALTER TABLE events ADD COLUMN IF NOT EXISTS upload_location TEXT;
ALTER TABLE events ADD COLUMN IF NOT EXISTS video_start TIMESTAMP;
ALTER TABLE events ADD COLUMN IF NOT EXISTS video_end TIMESTAMP;
ALTER TABLE events ADD COLUMN IF NOT EXISTS video_title TEXT;
ALTER TABLE events ADD COLUMN IF NOT EXISTS video_description TEXT;
ALTER TABLE events ADD COLUMN IF NOT EXISTS video_tags TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE events ADD COLUMN IF NOT EXISTS video_stream TEXT;
ALTER TABLE events ADD COLUMN IF NOT EXISTS video_variant TEXT NOT NULL DEFAULT 'source';
-- NULL: the cut type configured for the upload location.
ALTER TABLE events ADD COLUMN IF NOT EXISTS cut_type TEXT;

-- State and outputs.
ALTER TABLE events ADD COLUMN IF NOT EXISTS state event_state NOT NULL DEFAULT 'UNEDITED';
ALTER TABLE events ADD COLUMN IF NOT EXISTS uploader TEXT;
ALTER TABLE events ADD COLUMN IF NOT EXISTS error TEXT;
ALTER TABLE events ADD COLUMN IF NOT EXISTS video_id TEXT;
ALTER TABLE events ADD COLUMN IF NOT EXISTS video_link TEXT;
ALTER TABLE events ADD COLUMN IF NOT EXISTS editor TEXT;
ALTER TABLE events ADD COLUMN IF NOT EXISTS edit_time TIMESTAMP;
ALTER TABLE events ADD COLUMN IF NOT EXISTS upload_time TIMESTAMP;

-- What must be set in each state. Each rule is its own named constraint so that a violation
-- names the rule. A constraint is only added if no constraint of that name exists yet.
DO $$
DECLARE
    rule RECORD;
BEGIN
    FOR rule IN SELECT * FROM (VALUES
        -- Edit inputs without a sensible default: set from EDITED on. A manual upload goes
        -- UNEDITED -> DONE directly and needs none of them.
        ('events_video_start_set',
            $c$state IN ('UNEDITED', 'DONE') OR video_start IS NOT NULL$c$),
        ('events_video_end_set',
            $c$state IN ('UNEDITED', 'DONE') OR video_end IS NOT NULL$c$),
        ('events_video_title_set',
            $c$state IN ('UNEDITED', 'DONE') OR video_title IS NOT NULL$c$),
        ('events_video_description_set',
            $c$state IN ('UNEDITED', 'DONE') OR video_description IS NOT NULL$c$),
        ('events_video_stream_set',
            $c$state IN ('UNEDITED', 'DONE') OR video_stream IS NOT NULL$c$),
        ('events_upload_location_set',
            $c$state = 'UNEDITED' OR upload_location IS NOT NULL$c$),
        -- A cutter owns the row from CLAIMED on (DONE excepted, for manual uploads).
        ('events_uploader_set',
            $c$state NOT IN ('CLAIMED', 'FINALIZING', 'TRANSCODING') OR uploader IS NOT NULL$c$),
        ('events_video_link_set',
            $c$state <> 'DONE' OR video_link IS NOT NULL$c$),
        ('events_upload_time_set',
            $c$state <> 'DONE' OR upload_time IS NOT NULL$c$),
        ('events_editor_set',
            $c$state = 'UNEDITED' OR editor IS NOT NULL$c$),
        ('events_edit_time_set',
            $c$state = 'UNEDITED' OR edit_time IS NOT NULL$c$),
        ('events_video_range',
            $c$video_end > video_start$c$),
        ('events_cut_type_known',
            $c$cut_type IN ('rough', 'fast', 'full')$c$)
    ) AS rules (name, expr)
    LOOP
        IF NOT EXISTS (
            SELECT 1 FROM pg_constraint
            WHERE conname = rule.name AND conrelid = 'events'::regclass
        ) THEN
            EXECUTE format('ALTER TABLE events ADD CONSTRAINT %I CHECK (%s)', rule.name, rule.expr);
        END IF;
    END LOOP;
END
$$;

-- A cutter's DONE names the cutter; only a manual upload (manual-link) has none. Added NOT VALID,
-- so a database holding older rows that break it still starts; new and updated rows are checked.
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conname = 'events_uploader_set_done' AND conrelid = 'events'::regclass
    ) THEN
        ALTER TABLE events ADD CONSTRAINT events_uploader_set_done
            CHECK (state <> 'DONE' OR upload_location = 'manual' OR uploader IS NOT NULL)
            NOT VALID;
    END IF;
END
$$;

-- The cutter's candidate query: EDITED rows for its upload locations, oldest edit first.
CREATE INDEX IF NOT EXISTS events_edited_by_location
    ON events (upload_location, edit_time) WHERE state = 'EDITED';
-- Start-up recovery (a cutter's own CLAIMED/FINALIZING rows) and the transcode checker.
CREATE INDEX IF NOT EXISTS events_in_flight_by_uploader
    ON events (uploader, state) WHERE state IN ('CLAIMED', 'FINALIZING', 'TRANSCODING');

-- Versioning: every write that changes an event (by anyone: CLI, editor, cutter) bumps
-- `version` and sets `modified_time` (naive UTC). A writer that names the version it read can
-- so tell that someone changed the row since (the editor's 409). A write that changes nothing
-- bumps nothing. Cut/upload progress lives outside this table, so it never bumps it.
ALTER TABLE events ADD COLUMN IF NOT EXISTS version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE events ADD COLUMN IF NOT EXISTS modified_time TIMESTAMP;
-- Separately: rows that existed before the column have no known modification time.
ALTER TABLE events ALTER COLUMN modified_time SET DEFAULT (now() AT TIME ZONE 'UTC');

CREATE OR REPLACE FUNCTION events_bump_version() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    -- Only this trigger sets them: a writer's own values are ignored.
    NEW.version := OLD.version;
    NEW.modified_time := OLD.modified_time;
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.version := OLD.version + 1;
        NEW.modified_time := clock_timestamp() AT TIME ZONE 'UTC';
    END IF;
    RETURN NEW;
END
$f$;

DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_trigger
        WHERE tgname = 'events_versioned' AND tgrelid = 'events'::regclass
    ) THEN
        CREATE TRIGGER events_versioned BEFORE UPDATE ON events
            FOR EACH ROW EXECUTE FUNCTION events_bump_version();
    END IF;
END
$$;

-- The editor's events list: newest event_start first (and its search scans in that order).
CREATE INDEX IF NOT EXISTS events_by_start ON events (event_start DESC NULLS LAST, id DESC);
-- Its text search (any part of description, category, notes or title, any case): a trigram
-- index over the text the search reads (common.events.db.SEARCH_TEXT is the same expression).
-- pg_trgm ships with PostgreSQL and is a trusted extension (the database's owner may create
-- it); where it cannot be created, the search works without the index, only slower.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
    RAISE NOTICE 'pg_trgm unavailable (%): event search runs without its index', SQLERRM;
END
$$;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX IF NOT EXISTS events_text_search ON events USING gin (
            (description || E'\n' || category || E'\n' || notes || E'\n'
             || coalesce(video_title, '')) gin_trgm_ops);
    END IF;
END
$$;

-- Editor accounts (python -m editor users ...). Only a SHA-256 of each login token is stored:
-- tokens are random 256-bit secrets, so a fast hash is enough and lookups stay one index probe.
CREATE TABLE IF NOT EXISTS editor_users (
    name TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    admin BOOLEAN NOT NULL DEFAULT FALSE,
    created TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);
-- Signed-in browsers: a SHA-256 of the session cookie, and the CSRF token the page must send
-- with every write. Removing a user ends their sessions; expired ones are deleted as they go.
CREATE TABLE IF NOT EXISTS editor_sessions (
    id_hash TEXT PRIMARY KEY,
    editor TEXT NOT NULL REFERENCES editor_users (name) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created TIMESTAMP NOT NULL,
    expires TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS editor_sessions_by_expiry ON editor_sessions (expires);

-- Peer restreamers, for the backfiller.
CREATE TABLE IF NOT EXISTS nodes (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    backfill_from BOOLEAN NOT NULL DEFAULT TRUE
);

-- Progress of the cutter's job on an event (phase and percent), kept apart from the events row
-- so that progress updates (every few seconds) never change the event itself: an editor's
-- conflict check on the event's version must not fire on them. One row per event while a job
-- runs; the cutter removes it when the job ends, a crashed cutter leaves its last one behind
-- (with `updated`, so readers can tell), and the next claim replaces it. See
-- common/events/progress.py.
CREATE TABLE IF NOT EXISTS event_progress (
    event_id UUID PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    uploader TEXT NOT NULL,
    phase TEXT NOT NULL,
    percent REAL CHECK (percent >= 0 AND percent <= 100),
    started TIMESTAMP NOT NULL,
    updated TIMESTAMP NOT NULL
);
