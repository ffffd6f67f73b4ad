"""Weaviate Embedded's lifecycle: download once, start, share between windows, last one out stops it, crash and restart.

The release is a stand-in archive served from loopback (see tests/embedded_release.py);
everything else (download, extraction, process, leases, HTTP) is real.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import time
from pathlib import Path

import pytest
import weaviate
from weaviate.embedded import EmbeddedDB
from weaviate.embedded import EmbeddedOptions as ClientEmbeddedOptions

from acolyte_lsp.settings import WeaviateSettings
from acolyte_lsp.store.embedded import EmbeddedWeaviate, embedded_for
from acolyte_lsp.store.embedded_release import RELEASE_SHA256, RELEASES_ENV, download_url
from acolyte_lsp.store.errors import EmbeddedWeaviateError
from acolyte_lsp.store.schema import ensure_schema
from tests.embedded_release import ReleaseServer, free_port, release, release_archive  # noqa: F401 - fixture

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("WEAVIATE_URL")), reason="Weaviate Embedded is driven with a stand-in release, not a server"
)


def _embedded(url: str, port: int | None = None) -> EmbeddedWeaviate:
    return embedded_for(WeaviateSettings(embedded_version=url, embedded_port=port or free_port()))


def _pid(embedded: EmbeddedWeaviate) -> int:
    return int((embedded.options.state_dir / "weaviate.pid").read_text())


def test_first_use_downloads_the_release_once_with_progress(release: ReleaseServer) -> None:
    seen: list[tuple[int, int | None]] = []
    window = _embedded(release.url)
    assert not window.program.is_cached()
    assert window.ensure_running(lambda done, total: seen.append((done, total))) is True
    assert window.answering() and window.program.is_cached()
    size = len(release.archive)
    assert seen[0] == (0, size) and seen[-1] == (size, size)
    again = embedded_for(WeaviateSettings(embedded_version=release.url, embedded_port=window.options.port + 0))
    again.ensure_running()
    assert release.downloads == 1


def test_a_second_window_shares_the_running_weaviate(release: ReleaseServer) -> None:
    first = _embedded(release.url)
    assert first.ensure_running() is True
    second = embedded_for(WeaviateSettings(embedded_version=release.url, embedded_port=first.options.port))
    assert second.ensure_running() is False
    assert first.users() == [os.getpid(), os.getpid()]
    assert second.url == first.url and _pid(second) == _pid(first)


def test_two_embedded_weaviates_on_two_ports_run_side_by_side_each_with_its_data(release: ReleaseServer) -> None:
    one, two = _embedded(release.url), _embedded(release.url)
    assert one.ensure_running() is True and two.ensure_running() is True
    assert one.options.data_dir != two.options.data_dir
    for embedded in (one, two):
        client = weaviate.Client(embedded.url)
        ensure_schema(client, "SideBySide")
        assert client.get_meta()["modules"] == {}  # no module that could hand text to a hosted service
    assert one.release() is True and two.release() is True


def test_a_window_closing_leaves_weaviate_to_the_other_and_the_last_stops_it(release: ReleaseServer) -> None:
    first = _embedded(release.url)
    first.ensure_running()
    second = embedded_for(WeaviateSettings(embedded_version=release.url, embedded_port=first.options.port))
    second.ensure_running()
    assert first.release() is False
    assert second.answering()
    assert second.release() is True
    assert not second.answering()


def test_leases_of_windows_that_died_do_not_keep_weaviate_running(release: ReleaseServer) -> None:
    window = _embedded(release.url)
    window.ensure_running()
    (window.options.state_dir / "users" / "999999999-deadbeef").touch()  # a window killed with -9
    assert window.release() is True
    assert not window.answering()


def test_a_crashed_weaviate_is_started_again_on_the_next_check(release: ReleaseServer) -> None:
    window = _embedded(release.url)
    window.ensure_running()
    crashed = _pid(window)
    os.kill(crashed, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while window.answering() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert window.ensure_running() is True
    assert window.answering() and _pid(window) != crashed
    assert weaviate.Client(window.url).is_ready()


def test_weaviate_is_not_in_the_starting_process_group(release: ReleaseServer) -> None:
    window = _embedded(release.url)
    window.ensure_running()
    assert os.getpgid(_pid(window)) != os.getpgid(0), "an editor killing its server's group would kill Weaviate"


def test_an_unreachable_download_says_what_to_do() -> None:
    closed = free_port()
    window = _embedded(f"http://127.0.0.1:{closed}/weaviate.tar.gz")
    with pytest.raises(EmbeddedWeaviateError) as raised:
        window.ensure_running()
    message = str(raised.value)
    assert f"cannot download http://127.0.0.1:{closed}/weaviate.tar.gz" in message
    assert f"downloaded once to {window.program.binary}" in message and "copy a Weaviate binary of that version there" in message
    assert not window.program.is_cached()


def test_an_archive_without_a_weaviate_binary_is_refused_and_nothing_is_cached() -> None:
    server = ReleaseServer(release_archive(entry="README.md", content=b"not a binary"))
    try:
        window = _embedded(server.url)
        with pytest.raises(EmbeddedWeaviateError, match="is not a Weaviate release archive"):
            window.program.fetch()
        assert not window.program.is_cached()
        assert list(window.options.binary_dir.iterdir()) == []
    finally:
        server.close()


def test_a_release_that_changed_since_its_first_download_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    server = ReleaseServer(release_archive())
    try:
        first = _embedded(server.url)
        first.program.fetch()
        first.program.binary.unlink()  # a cache emptied: the next window downloads again
        server.archive = release_archive(content=f"#!/bin/sh\ntouch '{marker}'\n".encode())
        with pytest.raises(EmbeddedWeaviateError, match="has SHA-256 .* not the earlier .* it was not run"):
            _embedded(server.url).ensure_running()
        assert not first.program.is_cached() and not marker.exists()
    finally:
        server.close()


def test_a_pinned_release_checksum_must_match(release: ReleaseServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RELEASES_ENV, release.url.rsplit("/releases/", 1)[0])  # a mirror of the release downloads
    name = download_url("1.25.4").rsplit("/", 1)[-1]
    monkeypatch.setitem(RELEASE_SHA256, name, hashlib.sha256(b"another archive").hexdigest())
    with pytest.raises(EmbeddedWeaviateError, match="not the pinned"):
        _embedded("1.25.4").program.fetch()
    monkeypatch.setitem(RELEASE_SHA256, name, hashlib.sha256(release.archive).hexdigest())
    assert _embedded("1.25.4").program.fetch().is_file()


def test_a_port_held_by_another_program_is_named(release: ReleaseServer) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        window = _embedded(release.url, squatter.getsockname()[1])
        window.program.fetch()
        started = time.monotonic()
        with pytest.raises(EmbeddedWeaviateError, match=r"port \d+ is taken by a program that is not a Weaviate"):
            window._wait_answering = lambda seconds: False  # noqa: SLF001 - skip the minute a loading Weaviate gets
            window.ensure_running()
        assert time.monotonic() - started < 30


@pytest.mark.parametrize("version", ["1.25.4", "1.24.0-rc.1", "https://github.com/weaviate/weaviate/releases/download/v1.25.4/weaviate-v1.25.4-Linux-amd64.tar.gz"])
def test_releases_and_cached_binaries_are_the_v3_clients_own(version: str, tmp_path: Path) -> None:
    client_db = EmbeddedDB(ClientEmbeddedOptions(version=version, binary_path=str(tmp_path), persistence_data_path=str(tmp_path)))
    ours = embedded_for(WeaviateSettings(embedded_version=version, embedded_binary_path=str(tmp_path)))
    assert download_url(version) == client_db._download_url  # noqa: SLF001
    digest = hashlib.sha256(version.encode()).hexdigest()
    assert ours.program.binary == tmp_path / f"weaviate-{client_db._parsed_weaviate_version}-{digest}"  # noqa: SLF001


def test_a_version_that_is_neither_a_number_nor_an_archive_url_is_refused() -> None:
    for bad in ("latest-ish", "http://example.com/weaviate", "1.25"):
        with pytest.raises(EmbeddedWeaviateError, match="version|archive"):
            download_url(bad)


def test_the_memory_limit_reaches_the_weaviate_it_starts_as_gomemlimit(release: ReleaseServer) -> None:
    limited = embedded_for(WeaviateSettings(embedded_version=release.url, embedded_port=free_port(),
                                            embedded_memory_limit="1500MiB"))
    limited.ensure_running()
    try:
        environ = Path(f"/proc/{_pid(limited)}/environ").read_bytes().split(b"\0")
    finally:
        limited.stop()
    assert b"GOMEMLIMIT=1500MiB" in environ
