"""Passwords and ballot codes: the secrets the platform keeps, and how."""

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

# No 0/O, 1/I/L: a code read aloud or typed from a card must not be ambiguous.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10  # 31**10 ≈ 2**49.5, above the 40 bits of randomness asked for
CODE_GROUP = 5


def hash_password(password: str) -> str:
    """Hash a password with Argon2id and a random salt."""
    return _hasher.hash(password)


def check_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_password() -> str:
    """A password to print once: 16 characters from the unambiguous alphabet."""
    return "".join(secrets.choice(CODE_ALPHABET.lower() + CODE_ALPHABET) for _ in range(16))


def new_ballot_code() -> str:
    """A fresh code in its canonical form (no separators)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def canonical_code(typed: str) -> str:
    """Forgive case, spaces and dashes in a typed code."""
    return "".join(ch for ch in typed.upper() if ch.isalnum())


def display_code(code: str) -> str:
    """Group a canonical code for reading aloud: 'ABCDE-FGHJK'."""
    return "-".join(code[i : i + CODE_GROUP] for i in range(0, len(code), CODE_GROUP))


def code_hash(key: str, code: str) -> str:
    """Key the lookup hash so that the database alone cannot be searched for valid codes."""
    return hmac.new(key.encode(), canonical_code(code).encode(), hashlib.sha256).hexdigest()


def report_token(key: str, session_id: int, subject_id: int) -> str:
    """The unguessable part of a written report's address, shown only on ballot pages.

    Subject ids are sequential; without this anyone could read every report of an open
    session by counting. Keyed like the code hashes, so it cannot be computed without the key.
    """
    message = f"report:{session_id}:{subject_id}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()[:32]


def _fernet(key: str):
    from base64 import urlsafe_b64encode

    from cryptography.fernet import Fernet

    derived = hmac.new(key.encode(), b"ballot-code-seal", hashlib.sha256).digest()
    return Fernet(urlsafe_b64encode(derived))


def seal_code(key: str, code: str) -> str:
    """Encrypt a code under the instance key so cards can be reprinted before the meeting."""
    return _fernet(key).encrypt(code.encode()).decode()


def unseal_code(key: str, sealed: str) -> str:
    return _fernet(key).decrypt(sealed.encode()).decode()
