"""The edit page plays what will be cut as it is: a stream at its own frame rate (frame steps
are the stream's frames, known before anything plays), and a variant whose sound is a separate
audio rendition with its sound (the restreamer's master playlist, over the event's window).
Real Chromium, real restreamer, real Postgres, real video (support.archive, support.framecode)."""

import os
import subprocess
from datetime import datetime, timedelta

import pytest
from browser_testing import Site, open_event, row, set_mark, shown_frame
from editor_testing import Server, iso
from support import framecode
from support.archive import (SEGMENT_SECONDS, build_separate_audio_archive, real_segments,
                             write_segment)
from support.waiting import wait_for

T2 = datetime(2026, 11, 27, 14, 0, 0)
STREAM, VARIANT, AUDIO = "main", "source", "audio-en"
RATE, SEGMENTS = 25, 5  # 10 s of 25 fps video
FRAME_25 = timedelta(seconds=1 / RATE)


def coded_segments(directory, rate, count):
    """count 2-second segments of coded video (support.framecode) at `rate` frames a second."""
    seconds = count * SEGMENT_SECONDS
    subprocess.run([
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={rate}:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
        "-vf", framecode.drawbox_filter(),
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-g", str(rate * SEGMENT_SECONDS), "-keyint_min", str(rate * SEGMENT_SECONDS),
        "-sc_threshold", "0", "-c:a", "aac", "-b:a", "64k",
        "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_list_size", "0",
        "-hls_segment_filename", os.path.join(directory, "seg%05d.ts"),
        os.path.join(directory, "index.m3u8"),
    ], check=True)
    return sorted(os.path.join(directory, n) for n in os.listdir(directory) if n.endswith(".ts"))


@pytest.fixture(scope="module")
def media_restreamer(tmp_path_factory):
    """One archive: STREAM/VARIANT at 25 fps (coded), and STREAM "sep" whose variant VARIANT
    plays with the separate audio rendition AUDIO (30 fps, coded)."""
    base = tmp_path_factory.mktemp("media-archive") / "segments"
    sources = coded_segments(str(tmp_path_factory.mktemp("coded25")), RATE, SEGMENTS)
    segments = []
    for i, path in enumerate(sources):
        start = T2 + i * timedelta(seconds=SEGMENT_SECONDS)
        with open(path, "rb") as f:
            write_segment(str(base), STREAM, VARIANT, start, timedelta(seconds=SEGMENT_SECONDS),
                          f.read())
        segments.append((start, path))
    build_separate_audio_archive(str(base), "sep", VARIANT, T2, SEGMENTS, audio=AUDIO, coded=True)
    from restreamer.app import Config, create_app
    server = Server(create_app(Config(str(base))), "restreamer")
    server.segments = segments
    yield server
    server.stop()


@pytest.fixture
def site(editor_factory, users, media_restreamer, db_dsn):
    site = Site(editor_factory(restreamer_urls=[media_restreamer.url]), users, db_dsn,
                media_restreamer.url)
    yield site
    site.close()


def test_frame_steps_are_the_streams_own_frames(browser, site, media_restreamer):
    event = site.client("alice").create(event_start=iso(T2 + timedelta(seconds=4)),
                                        event_end=iso(T2 + timedelta(seconds=8)))
    page = site.page(browser, "bob")
    open_event(page, site, event["id"])
    assert shown_frame(page) == 4 * RATE
    # Known from the fragments hls.js parsed, before anything played.
    page.wait_for_selector(".fps-info >> text=/^25 fps$/")

    for _ in range(5):
        page.keyboard.press("ArrowRight")
    set_mark(page, "i", "in")
    assert shown_frame(page) == 4 * RATE + 5  # five steps of 1/30 s would be four frames
    page.keyboard.press("Shift+ArrowRight")
    set_mark(page, "o", "out")
    assert shown_frame(page) == 5 * RATE + 5
    page.keyboard.press("ArrowLeft")
    assert shown_frame(page) == 5 * RATE + 4

    page.keyboard.press("Control+s")
    wait_for(lambda: row(site, event["id"])["video_start"] is not None, message="the draft")
    stored = row(site, event["id"])
    frame_time = lambda i: framecode.frame_wall_clock(media_restreamer.segments, i)  # noqa: E731
    assert abs(stored["video_start"] - frame_time(4 * RATE + 5)) < FRAME_25
    assert abs(stored["video_end"] - frame_time(5 * RATE + 5)) < FRAME_25
    assert not page.errors


def test_a_separate_audio_rendition_plays_with_the_picture(browser, site):
    event = site.client("alice").create(event_start=iso(T2 + timedelta(seconds=2)),
                                        event_end=iso(T2 + timedelta(seconds=6)))
    page = site.page(browser, "bob")
    page.goto(f"{site.url}/#/events/{event['id']}")
    page.wait_for_selector("#f-stream")
    page.select_option("#f-stream", "sep")
    page.wait_for_selector(".source-info >> text=sep/source with its audio rendition")
    page.wait_for_function("performance.getEntriesByName('editor:first-frame').length > 0")
    # The window's start is the event's start: the first frame is at it.
    page.wait_for_selector(".clock-utc >> text=14:00:02.000")
    page.keyboard.press("Space")
    # The sound is decoded as the picture plays (Chromium counts the audio bytes decoded).
    page.wait_for_function("document.querySelector('video').webkitAudioDecodedByteCount > 0")
    page.wait_for_function("document.querySelector('video').currentTime > 0.5 + "
                           "document.querySelector('video').seekable.start(0)")
    assert not page.errors


def test_marks_on_a_separate_audio_variant_are_its_frames(browser, site):
    """Played from the master playlist (video and audio timelines side by side), a mark is
    still the frame on screen: checked against the frame's own timestamp."""
    alice = site.client("alice")
    event = alice.create(event_start=iso(T2 + timedelta(seconds=4)),
                         event_end=iso(T2 + timedelta(seconds=8)))
    response = alice.put(f"/api/events/{event['id']}", json={
        "version": event["version"], "video_stream": "sep", "video_variant": VARIANT})
    assert response.status_code == 200, response.text
    page = site.page(browser, "bob")
    open_event(page, site, event["id"])
    page.wait_for_selector(".source-info >> text=sep/source with its audio rendition")
    assert shown_frame(page) == 4 * 30
    page.wait_for_selector(".fps-info >> text=/^30 fps$/")
    for key in ["ArrowRight"] * 3 + ["i", "Shift+ArrowRight", "o"]:
        page.keyboard.press(key)
    for which in ("in", "out"):
        page.wait_for_function(f"document.querySelector('.mark-{which} .mark-utc').textContent !== 'not set'")
    assert shown_frame(page) == 5 * 30 + 3
    page.keyboard.press("Control+s")
    wait_for(lambda: row(site, event["id"])["video_end"] is not None, message="the draft")
    stored = row(site, event["id"])
    sources = real_segments(SEGMENTS, coded=True)
    segments = [(T2 + i * timedelta(seconds=SEGMENT_SECONDS), path) for i, path in enumerate(sources)]
    frame = timedelta(seconds=1 / 30)
    assert abs(stored["video_start"] - framecode.frame_wall_clock(segments, 4 * 30 + 3)) < frame
    assert abs(stored["video_end"] - framecode.frame_wall_clock(segments, 5 * 30 + 3)) < frame
    assert not page.errors


def test_frame_rate_and_playlist_rules(browser, site):
    """The player's pure rules, run in the browser: frame counts to frame rates, the frames in a
    buffered fragment, which playlist a variant plays from."""
    page = site.page(browser, "bob")
    results = page.evaluate("""async () => {
      const p = await import('/static/js/player.js');
      const box = (type, body) => {
        const out = new Uint8Array(8 + body.length);
        new DataView(out.buffer).setUint32(0, out.length);
        out.set([...type].map((c) => c.charCodeAt(0)), 4);
        out.set(body, 8);
        return out;
      };
      const trun = (n) => box('trun', [0, 0, 15, 1, 0, 0, 0, n, 0, 0, 0, 0]);
      const traf = box('traf', [...box('tfhd', [0, 0, 0, 0, 0, 0, 0, 1]), ...trun(50), ...trun(3)]);
      const segment = new Uint8Array([...box('moof', [...box('mfhd', [0, 0, 0, 0, 0, 0, 0, 1]), ...traf]),
                                      ...box('mdat', [1, 2, 3])]);
      const source = { stream: 'a b', variant: 'source', startMs: Date.UTC(2026, 10, 27, 14), endMs: null };
      return {
        pal: p.frameDurationOf(2, 50), thirty: p.frameDurationOf(2, 60), ntsc: p.frameDurationOf(2.002, 60), odd: p.frameDurationOf(2, 37),
        none: [p.frameDurationOf(0, 50), p.frameDurationOf(2, 1), p.frameDurationOf(2, 1000)],
        frames: p.sampleCount(segment), junk: p.sampleCount(new Uint8Array([0, 0, 0, 3, 1, 2])),
        master: p.masterUrl('http://r:8000/', source, Date.UTC(2026, 10, 27, 15)),
        media: p.playlistUrl('http://r:8000', { ...source, endMs: source.startMs + 60000 }),
        audio: [p.hasAudioGroup({ audio: ['audio-en'] }), p.hasAudioGroup({ type: 'audio' }), p.hasAudioGroup(null)],
      };
    }""")
    assert results["pal"] == pytest.approx(1 / 25, abs=1e-12)
    assert results["thirty"] == pytest.approx(1 / 30, abs=1e-12)  # not 29.97, 0.1 % off
    assert results["ntsc"] == pytest.approx(1001 / 30000, abs=1e-12)
    assert results["odd"] == pytest.approx(2 / 37)
    assert results["none"] == [None, None, None]
    assert (results["frames"], results["junk"]) == (53, 0)
    assert results["master"] == ("http://r:8000/playlist/a%20b.m3u8?start=2026-11-27T14%3A00%3A00.000Z"
                                 "&end=2026-11-27T21%3A00%3A00.000Z")  # open: 6 h past now
    assert results["media"] == ("http://r:8000/playlist/a%20b/source.m3u8?start=2026-11-27T14%3A00%3A00.000Z"
                                "&end=2026-11-27T14%3A01%3A00.000Z")
    assert results["audio"] == [True, False, False]


def test_a_window_without_video_says_so_with_separate_audio_too(browser, site):
    alice = site.client("alice")
    event = alice.create(event_start=iso(T2 + timedelta(hours=2)),
                         event_end=iso(T2 + timedelta(hours=2, seconds=5)))
    response = alice.put(f"/api/events/{event['id']}", json={
        "version": event["version"], "video_stream": "sep", "video_variant": VARIANT})
    assert response.status_code == 200, response.text
    page = site.page(browser, "bob")
    page.goto(f"{site.url}/#/events/{event['id']}")
    # The master playlist of an empty window is a 404: the same words as an empty media one.
    page.wait_for_selector(".video-overlay >> text=No video between")
    assert "no video in this window" in page.inner_text(".video-overlay")
