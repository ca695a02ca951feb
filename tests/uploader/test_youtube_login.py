"""`python -m uploader youtube-login` as a real process against the local fake of Google's OAuth
and YouTube endpoints (support/fake_youtube.py): both flows, the credentials file (mode 0600)
that the youtube backend then uploads with, and the failures an operator can meet."""

import base64
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import threading
import urllib.parse

import pytest
import requests

from support.fake_youtube import CLIENTS, FakeYoutube
from support.waiting import wait_for
from uploader.backends import Spool, oauth
from uploader.backends.youtube import YoutubeBackend

LOOPBACK_SCOPE = ("https://www.googleapis.com/auth/youtube.upload "
                  "https://www.googleapis.com/auth/youtube.readonly")
DEVICE_SCOPE = "https://www.googleapis.com/auth/youtube"


@pytest.fixture
def fake():
    f = FakeYoutube()
    yield f
    f.close()


class Login:
    """The command as a process; its output lines collected as they come."""

    def __init__(self, fake, tmp_path, *extra, kind="desktop", secrets=None, out=None):
        self.out = out or tmp_path / "youtube-credentials.json"
        secrets = secrets or fake.write_client_secrets(tmp_path / "client.json", kind)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uploader", "youtube-login", "--client-secrets", str(secrets),
             "--out", str(self.out), "--no-browser", *fake.login_endpoints, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def line(self, pattern):
        """The first output line matching pattern (waits for it)."""
        def found():
            assert self.proc.poll() is None or self.lines, self.proc.stderr.read()
            return next((m for m in map(re.compile(pattern).search, self.lines) if m), None)
        return wait_for(found, timeout=20, message=f"a line matching {pattern!r}")

    def finish(self):
        """(exit status, stdout, stderr)."""
        code = self.proc.wait(30)
        self.reader.join(5)
        return code, "\n".join(self.lines), self.proc.stderr.read()


def browser(url):
    """What a browser does with the printed URL, the user allowing access: follow the consent
    page's redirect to the command's loopback server."""
    return requests.get(url, timeout=10)


def credentials(path):
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        return json.load(f)


def test_loopback_login_writes_credentials_the_backend_uploads_with(fake, tmp_path):
    out = tmp_path / "youtube-credentials.json"
    out.write_text("old credentials")
    os.chmod(out, 0o644)  # replaced, and no longer readable by others
    login = Login(fake, tmp_path, out=out)
    url = login.line(r"^  (http://\S+)").group(1)
    page = browser(url)
    assert page.status_code == 200 and "you can close this window" in page.text
    code, stdout, stderr = login.finish()
    assert code == 0, stderr
    assert "YouTube channel: Charity Stream Highlights" in stdout

    request = fake.auth_requests[-1]
    assert request["scope"] == LOOPBACK_SCOPE
    assert request["code_challenge_method"] == "S256" and request["prompt"] == "consent"
    assert request["access_type"] == "offline"
    assert urllib.parse.urlparse(request["redirect_uri"]).hostname == "127.0.0.1"
    creds = credentials(out)
    assert (creds["client_id"], creds["client_secret"]) == CLIENTS["desktop"]
    assert fake.refresh_tokens[creds["refresh_token"]] == LOOPBACK_SCOPE == creds["scope"]

    # The file is what the youtube backend reads: it uploads with it.
    backend = YoutubeBackend(credentials_file=str(out), retry_backoff=0.01, timeout=10,
                             **fake.endpoints)
    video = tmp_path / "video.ts"
    video.write_bytes(b"\x47" * 1000)
    video_id, _ = backend.upload("t", "d", [], Spool(str(video)))
    assert fake.videos[video_id]["data"] == b"\x47" * 1000


def test_device_login(fake, tmp_path):
    fake.slow_down = 1  # the first poll is told to slow down: the command waits longer
    login = Login(fake, tmp_path, "--device", kind="tv")
    assert login.line(r"open (\S+) and enter the code").group(1) == fake.url + "/device"
    user_code = login.line(r"^  (\w+)$").group(1)
    assert fake.approve(user_code)
    code, stdout, stderr = login.finish()
    assert code == 0, stderr
    assert "YouTube channel: Charity Stream Highlights" in stdout
    creds = credentials(login.out)
    assert (creds["client_id"], creds["client_secret"]) == CLIENTS["tv"]
    assert fake.refresh_tokens[creds["refresh_token"]] == DEVICE_SCOPE == creds["scope"]
    assert fake.slow_down == 0


def test_refusals_write_nothing(fake, tmp_path):
    fake.deny = True
    login = Login(fake, tmp_path)
    browser(login.line(r"^  (http://\S+)").group(1))
    code, _, stderr = login.finish()
    assert code == 1 and stderr.strip() == "error: authorization refused: access_denied"
    assert not login.out.exists()

    device = Login(fake, tmp_path, "--device", kind="tv")
    fake.approve(device.line(r"^  (\w+)$").group(1), deny=True)
    code, _, stderr = device.finish()
    assert code == 1 and "refused" in stderr and "Traceback" not in stderr
    assert not device.out.exists()


def test_a_redirect_with_another_state_is_refused(fake, tmp_path):
    login = Login(fake, tmp_path)
    waiting = login.line(r"waiting for the browser at (\S+)\)").group(1)
    requests.get(waiting + "favicon.ico", timeout=5)  # ignored
    requests.get(waiting + "?code=stolen&state=forged", timeout=5)
    code, _, stderr = login.finish()
    assert code == 1 and "different state" in stderr
    assert not login.out.exists() and fake.count("POST", "/token") == 0


def test_device_flow_needs_a_tv_client(fake, tmp_path):
    login = Login(fake, tmp_path, "--device", kind="desktop")
    code, _, stderr = login.finish()
    assert code == 1 and "TVs and Limited Input devices" in stderr


def test_an_account_without_a_channel_is_told_but_keeps_its_credentials(fake, tmp_path):
    fake.channel_title = None
    login = Login(fake, tmp_path)
    browser(login.line(r"^  (http://\S+)").group(1))
    code, _, stderr = login.finish()
    assert code == 1 and "has no YouTube channel" in stderr
    assert credentials(login.out)["refresh_token"]


@pytest.mark.parametrize("content, message", [
    ("not json", "cannot read client secrets"),
    (json.dumps({"web": {"client_id": "x", "client_secret": "y"}}), "'Desktop app'"),
    (json.dumps({"installed": {"client_id": "x"}}), "lacks client_secret"),
])
def test_bad_client_secrets_are_one_line_errors(fake, tmp_path, content, message):
    secrets = tmp_path / "client.json"
    secrets.write_text(content)
    code, _, stderr = Login(fake, tmp_path, secrets=secrets).finish()
    assert code == 1 and message in stderr
    assert len(stderr.strip().splitlines()) == 1 and fake.log == []


def test_an_unwritable_out_fails_before_the_consent(fake, tmp_path):
    code, _, stderr = Login(fake, tmp_path, out=tmp_path / "missing" / "c.json").finish()
    assert code == 1 and "no directory" in stderr and fake.log == []


def test_pkce_challenge_is_the_verifiers_sha256():
    verifier, challenge = oauth.pkce_pair()
    assert 43 <= len(verifier) <= 128 and "=" not in challenge
    assert challenge == base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert oauth.pkce_pair()[0] != verifier
