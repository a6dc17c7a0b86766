"""The Delta jars are accepted only with the SHA-256 pinned in the repository (jobs/jars.py),
never against a checksum fetched from the server that serves the jar."""
from __future__ import annotations

import hashlib

import pytest

from jobs import jars
from jobs.errors import SetupError

pytestmark = pytest.mark.unit


@pytest.fixture
def fake_maven(monkeypatch):
    """Serve `payloads[name]` for each jar URL; record every URL asked for."""
    asked: list[str] = []
    payloads: dict[str, bytes] = {}

    def get(url: str) -> bytes:
        asked.append(url)
        return payloads[url.rsplit("/", 1)[1]]

    monkeypatch.setattr(jars, "_get", get)
    names = [f"{a}-{v}.jar" for _, a, v in jars.delta_artifacts()]
    monkeypatch.setattr(jars, "PINNED_SHA256", {n: hashlib.sha256(n.encode()).hexdigest() for n in names})
    return asked, payloads, names


def test_every_jar_the_installed_delta_needs_has_a_pin():
    names = {f"{a}-{v}.jar" for _, a, v in jars.delta_artifacts()}
    assert names <= set(jars.PINNED_SHA256)
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in jars.PINNED_SHA256.values())


def test_a_jar_matching_its_pin_is_stored_and_no_checksum_is_fetched(fake_maven, tmp_path):
    asked, payloads, names = fake_maven
    payloads.update({n: n.encode() for n in names})
    paths = jars.fetch(tmp_path)
    assert [p.name for p in paths] == names and all(p.read_bytes() == p.name.encode() for p in paths)
    assert [u.rsplit("/", 1)[1] for u in asked] == names       # the jars only: no .sha1 / .sha256


def test_a_jar_not_matching_its_pin_is_refused_and_not_stored(fake_maven, tmp_path):
    asked, payloads, names = fake_maven
    payloads.update({n: b"tampered" for n in names})
    with pytest.raises(SetupError, match=f"SHA-256 {hashlib.sha256(b'tampered').hexdigest()} of {names[0]} "
                                         "does not match the pinned"):
        jars.fetch(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_cached_jar_is_checked_too_and_an_unpinned_jar_is_refused(fake_maven, tmp_path, monkeypatch):
    _, _, names = fake_maven
    (tmp_path / names[0]).write_bytes(b"corrupt")
    with pytest.raises(SetupError, match="does not match the pinned"):
        jars.fetch(tmp_path)
    monkeypatch.setattr(jars, "PINNED_SHA256", {})
    with pytest.raises(SetupError, match=f"no SHA-256 is pinned for {names[0]}"):
        jars.fetch(tmp_path)
