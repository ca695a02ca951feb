"""AES-128 segments (RFC 8216 section 5.2): AES-128-CBC over the whole segment, PKCS#7 padded.

Decrypted as the body streams in, so a segment is never held whole in memory. The cipher and the
padding check come from the `cryptography` package; here is only the bookkeeping of holding back
the last block until we know whether it ends the segment (padding) or the transfer broke (then
it is clear data like the rest and is kept).
"""

BLOCK = 16


class DecryptError(ValueError):
    """The bytes do not decrypt with this key (wrong key, or not whole blocks)."""


def sequence_iv(seq):
    """The IV of a segment whose EXT-X-KEY has none: its media sequence number, big-endian."""
    return seq.to_bytes(BLOCK, "big")


class SegmentDecryptor:
    def __init__(self, key, iv):
        if len(key) != BLOCK:
            raise DecryptError(f"an AES-128 key is 16 bytes, not {len(key)}")
        # Imported here: the OpenSSL bindings cost ~6 MiB, which clear streams need not pay.
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        self._cipher = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        self._held = b""  # the last clear block(s) seen: padding, if the segment ends here

    def update(self, data):
        """Clear bytes that are certainly not padding (may be empty)."""
        clear = self._held + self._cipher.update(data)
        self._held = clear[-BLOCK:]
        return clear[:-BLOCK]

    def finish(self):
        """The rest of a complete segment, padding removed; DecryptError if it is not valid."""
        from cryptography.hazmat.primitives import padding

        try:
            clear = self._held + self._cipher.finalize()
            unpadder = padding.PKCS7(BLOCK * 8).unpadder()
            return unpadder.update(clear) + unpadder.finalize()
        except ValueError as e:
            raise DecryptError(f"segment does not decrypt ({e})") from None

    def rest(self):
        """For a transfer that broke: the held-back clear bytes as they are (not padding)."""
        held, self._held = self._held, b""
        return held
