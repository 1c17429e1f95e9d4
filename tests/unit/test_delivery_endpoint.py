"""Where push delivery may go, decided before anything is sent: https
anywhere (verified), plain http only to loopback or to the hosts an operator
allows, a peer's CA bundle read when the service starts, and the timeouts
as settings. Nothing here opens a connection."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from contractledger.store.errors import StoreConfigurationError
from contractledger.sync import delivery
from contractledger.sync.endpoint import CONNECT_TIMEOUT, PLAIN_HTTP_HOSTS, READ_TIMEOUT, PeerEndpoint, check, target, timeout
from contractledger.sync.peer import PEERS_DIRECTORY, PeerDefinitionError, load_peer
from contractledger.sync.signing import key_of

MANAGE = load_peer(PEERS_DIRECTORY / "manage.toml")


def _at(url: str, **settings: str) -> dict[str, str]:
    return {"CONTRACTLEDGER_SYNC_MANAGE_ENDPOINT": url, **settings}


@pytest.mark.parametrize(
    "url",
    [
        "https://manage.carrier.example/contractledger/changes",
        "https://203.0.113.7:8443/hook?tenant=aga",
        "http://127.0.0.1:9102/contractledger/changes",
        "http://127.8.9.10/hook",
        "http://[::1]:9102/hook",
        "http://localhost:9102/hook",
    ],
)
def test_https_anywhere_and_plain_http_to_loopback_are_accepted(url: str) -> None:
    made = PeerEndpoint(MANAGE, _at(url))  # a pool is made; nothing is connected yet
    assert made.target.url == url and made.target.scheme == url.split(":")[0]
    made.close()


def test_a_query_in_the_endpoint_is_kept_in_the_request_target() -> None:
    assert target(MANAGE, _at("https://manage.example/hook?tenant=aga")).path == "/hook?tenant=aga"
    assert (target(MANAGE, _at("https://manage.example")).path, target(MANAGE, _at("https://manage.example")).port) == ("/", 443)


def test_plain_http_to_another_host_is_refused_in_one_sentence_naming_the_setting_that_allows_it() -> None:
    with pytest.raises(StoreConfigurationError) as refused:
        target(MANAGE, _at("http://manage.carrier.example/hook"))
    sentence = str(refused.value)
    assert refused.value.setting == PLAIN_HTTP_HOSTS
    assert "manage" in sentence and "CONTRACTLEDGER_SYNC_MANAGE_ENDPOINT" in sentence and PLAIN_HTTP_HOSTS in sentence
    assert "\n" not in sentence


def test_plain_http_to_a_host_the_operator_allows_is_accepted() -> None:
    env = _at("http://Manage.Internal:8080/hook", **{PLAIN_HTTP_HOSTS: "billing.internal, manage.internal,10.0.0.7"})
    assert target(MANAGE, env).host == "manage.internal"
    assert target(MANAGE, _at("http://10.0.0.7/hook", **{PLAIN_HTTP_HOSTS: "manage.internal,10.0.0.7"})).port == 80
    with pytest.raises(StoreConfigurationError):
        target(MANAGE, _at("http://10.0.0.8/hook", **{PLAIN_HTTP_HOSTS: "manage.internal,10.0.0.7"}))


@pytest.mark.parametrize("given", ["http://manage.internal", "manage.internal:8080", "manage.internal/hook", "*", "-bad-.example"])
def test_a_bad_list_of_plain_http_hosts_is_refused_naming_it(given: str) -> None:
    with pytest.raises(StoreConfigurationError) as refused:
        check([], {PLAIN_HTTP_HOSTS: given})
    assert refused.value.setting == PLAIN_HTTP_HOSTS and PLAIN_HTTP_HOSTS in str(refused.value)


@pytest.mark.parametrize("url", ["ftp://manage.example/hook", "https:///hook", "manage.example/hook", "https://user:pw@manage.example/", "https://manage.example:port/"])
def test_an_endpoint_that_is_no_http_url_with_a_host_is_refused(url: str) -> None:
    with pytest.raises(StoreConfigurationError) as refused:
        target(MANAGE, _at(url))
    assert refused.value.setting == "CONTRACTLEDGER_SYNC_MANAGE_ENDPOINT"


def test_the_peer_files_own_endpoint_is_named_when_no_setting_overrides_it(tmp_path: Path) -> None:
    text = (PEERS_DIRECTORY / "manage.toml").read_text().replace("http://127.0.0.1:9102", "http://manage.example", 1)
    (tmp_path / "manage.toml").write_text(text)
    with pytest.raises(StoreConfigurationError, match="the endpoint of .*manage.toml"):
        target(load_peer(tmp_path / "manage.toml"), {})


def test_a_ca_bundle_named_in_the_peer_file_is_read_from_its_folder(tmp_path: Path) -> None:
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "manage-ca.pem"))
    text = (PEERS_DIRECTORY / "manage.toml").read_text().replace('# ca_bundle = "manage-ca.pem"', 'ca_bundle = "manage-ca.pem"', 1)
    (tmp_path / "manage.toml").write_text(text)
    peer = load_peer(tmp_path / "manage.toml")
    assert peer.ca_bundle({}) == tmp_path / "manage-ca.pem"
    assert target(peer, _at("https://manage.example/hook")).ca_bundle == tmp_path / "manage-ca.pem"
    assert target(peer, _at("http://127.0.0.1:9102/hook")).ca_bundle is None  # plain http to loopback: nothing to verify


@pytest.mark.parametrize("bundle", ["missing.pem", "not-pem.pem"])
def test_a_ca_bundle_that_cannot_be_read_stops_start_up_naming_it(tmp_path: Path, bundle: str) -> None:
    (tmp_path / "not-pem.pem").write_text("these are not certificates\n")
    env = _at("https://manage.example/hook", CONTRACTLEDGER_SYNC_MANAGE_CA_BUNDLE=str(tmp_path / bundle))
    with pytest.raises(StoreConfigurationError) as refused:
        check([MANAGE], env)
    assert refused.value.setting == "CONTRACTLEDGER_SYNC_MANAGE_CA_BUNDLE" and bundle in str(refused.value)


def test_the_retired_single_timeout_in_a_peer_file_is_refused_saying_what_replaced_it(tmp_path: Path) -> None:
    text = (PEERS_DIRECTORY / "manage.toml").read_text().replace("first_retry_seconds", "timeout_seconds = 5.0\nfirst_retry_seconds", 1)
    (tmp_path / "manage.toml").write_text(text)
    with pytest.raises(PeerDefinitionError, match=f"timeout_seconds is no longer read.*{CONNECT_TIMEOUT} and {READ_TIMEOUT}"):
        load_peer(tmp_path / "manage.toml")


def test_the_timeouts_have_defaults_and_a_bad_one_is_refused_naming_it() -> None:
    assert (timeout({}, CONNECT_TIMEOUT), timeout({}, READ_TIMEOUT)) == (5.0, 10.0)
    assert timeout({READ_TIMEOUT: "0.25"}, READ_TIMEOUT) == 0.25
    for setting in (CONNECT_TIMEOUT, READ_TIMEOUT):
        for given in ("soon", "0", "-1", "nan", "inf", "301"):
            with pytest.raises(StoreConfigurationError, match=f"{setting}='{given}'"):
                check([], {setting: given})


def test_only_pushed_peers_are_checked_a_peer_without_secrets_reads_its_pull_feed() -> None:
    elsewhere = _at("http://manage.example/hook")
    check([], elsewhere)  # manage has no secrets: not pushed, its endpoint unused
    assert delivery.pushed({"manage": MANAGE}, elsewhere) == []
    signed = {**elsewhere, MANAGE.delivery.secrets_variable: "whsec_a2V5"}
    assert delivery.pushed({"manage": MANAGE}, signed) == [MANAGE]
    with pytest.raises(StoreConfigurationError):
        check(delivery.pushed({"manage": MANAGE}, signed), signed)


def test_the_worker_refuses_to_run_with_a_plain_http_endpoint_elsewhere_in_one_sentence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("SQLITE_DBNAME", str(tmp_path / "ledger.sqlite3"))
    monkeypatch.setenv("CONTRACTLEDGER_SYNC_MANAGE_ENDPOINT", "http://manage.example/hook")
    monkeypatch.setenv("CONTRACTLEDGER_SYNC_MANAGE_SECRETS", "whsec_a2V5")
    assert delivery.main(["run"]) == 2
    said = capsys.readouterr().err.strip()
    assert said.startswith("sync-deliver: Sync peer manage:") and PLAIN_HTTP_HOSTS in said and len(said.splitlines()) == 1



@pytest.mark.parametrize("secrets", ["whsec_a2V5 not-base64!", "whsec_", "correct horse battery staple"])
def test_a_signing_secret_that_is_not_a_base64_key_stops_start_up_naming_its_variable_not_its_text(secrets: str) -> None:
    env = {MANAGE.delivery.secrets_variable: secrets}
    with pytest.raises(StoreConfigurationError) as refused:
        delivery.check(delivery.pushed({"manage": MANAGE}, env), env)
    assert refused.value.setting == MANAGE.delivery.secrets_variable
    assert "base64" in str(refused.value) and "horse" not in str(refused.value) and "not-base64!" not in str(refused.value)


def test_a_secret_is_the_same_key_with_or_without_its_prefix_and_padding() -> None:
    assert key_of("whsec_a2V5cw==") == key_of("a2V5cw==") == key_of("a2V5cw") == b"keys"
