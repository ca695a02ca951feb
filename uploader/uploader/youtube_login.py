"""`python -m uploader youtube-login`: get the youtube backend's credentials file in one
command, with Google's OAuth flow for installed applications (backends/oauth.py)."""

import os
import secrets
import webbrowser

import requests

from common.service import port_number, positive_float

from .backends import oauth

CHANNELS_URL = "https://www.googleapis.com/youtube/v3/channels"

HELP = f"""\
Authorize uploads to a YouTube channel and write the credentials file the `youtube` backend
reads (credentials_file; mode 0600).

By default a browser signs in: open the printed URL (on this machine, or through
`ssh -L PORT:127.0.0.1:PORT` with --port PORT), sign in as the channel's owner and allow
access. Needs an OAuth client of type "Desktop app"; asks for the scopes
{' and '.join(oauth.LOOPBACK_SCOPES)}.

--device, for a machine without a browser: enter the printed code at the printed URL on any
device. Needs an OAuth client of type "TVs and Limited Input devices"; asks for the scope
{' '.join(oauth.DEVICE_SCOPES)} (of YouTube's scopes, Google allows only that one and the
read-only one in this flow).

Then one API call names the channel, to confirm it is the right one."""


def add_parser(commands, formatter_class):
    login = commands.add_parser("youtube-login", help="get a YouTube credentials file",
                                description=HELP, formatter_class=formatter_class)
    login.add_argument("--client-secrets", required=True, metavar="FILE",
        help="the OAuth client's JSON, as downloaded from Google's console")
    login.add_argument("--out", required=True, metavar="CREDENTIALS",
        help="credentials file to write (replaced if it exists)")
    login.add_argument("--device", action="store_true",
        help="the device flow (no browser on this machine)")
    login.add_argument("--port", type=port_number, default=0,
        help="loopback port for the browser's redirect (default: any free port)")
    login.add_argument("--no-browser", action="store_true",
        help="only print the URL; do not try to open a browser here")
    login.add_argument("--timeout", type=positive_float, default=600,
        help="seconds to wait for the browser's redirect")
    for name, default in (("auth-url", oauth.GOOGLE_AUTH_URL),
                          ("token-url", oauth.GOOGLE_TOKEN_URL),
                          ("device-url", oauth.GOOGLE_DEVICE_URL),
                          ("channels-url", CHANNELS_URL)):
        login.add_argument(f"--{name}", default=default, help="Google's endpoint (for tests)")
    return login


def check_out(path):
    """Fail before the consent, not after it, if the file cannot be written."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise oauth.LoginError(f"--out {path}: no directory {directory}")
    if not os.access(directory, os.W_OK):
        raise oauth.LoginError(f"--out {path}: cannot write into {directory}")
    if os.path.isdir(path):
        raise oauth.LoginError(f"--out {path} is a directory")


def run(args, out=print):
    """The whole login; raises oauth.LoginError with what went wrong."""
    client_id, client_secret = oauth.read_client_secrets(args.client_secrets)
    check_out(args.out)
    session = requests.Session()
    if args.device:
        tokens = _device_flow(session, args, client_id, client_secret, out)
    else:
        tokens = _loopback_flow(session, args, client_id, client_secret, out)
    oauth.write_credentials(args.out, client_id, client_secret, tokens)
    out(f"Wrote {args.out} (mode 0600): set it as the youtube location's credentials_file.")
    title = oauth.channel_title(session, args.channels_url, tokens["access_token"])
    if title is None:
        raise oauth.LoginError("this Google account has no YouTube channel, so uploads will "
                               "fail: create one, or run again signed in as another account")
    out(f"YouTube channel: {title}")


def _loopback_flow(session, args, client_id, client_secret, out):
    verifier, challenge = oauth.pkce_pair()
    state = secrets.token_urlsafe(16)
    with oauth.LoopbackRedirect(args.port) as receiver:
        url = oauth.authorization_url(args.auth_url, client_id, receiver.redirect_uri,
                                      oauth.LOOPBACK_SCOPES, state, challenge)
        out("Open this URL in a browser, sign in as the channel's owner and allow access:")
        out(f"  {url}")
        out(f"(waiting for the browser at {receiver.redirect_uri})", flush=True)
        if not args.no_browser:
            try:
                webbrowser.open(url)
            except webbrowser.Error:
                pass  # the URL is printed
        code = receiver.wait(state, args.timeout)
        return oauth.exchange_code(session, args.token_url, client_id, client_secret, code,
                                   verifier, receiver.redirect_uri)


def _device_flow(session, args, client_id, client_secret, out):
    device = oauth.request_device_code(session, args.device_url, client_id,
                                       oauth.DEVICE_SCOPES)
    out(f"On any device with a browser, open {device['verification_url']} and enter the code")
    out(f"  {device['user_code']}")
    out(f"signed in as the channel's owner (the code is valid for "
        f"{device['expires_in'] / 60:.0f} minutes).", flush=True)
    return oauth.poll_device_token(session, args.token_url, client_id, client_secret, device)
