"""Where the app may send a browser (`next=`) or a shop's credentials (a base URL): the pure rules of boss.urls
(issue 11 item 10)."""
from __future__ import annotations

import pytest

from boss.config import Config, url_list
from boss.urls import is_allowed_base_url, safe_next_path

RAKUTEN = "https://api.rms.rakuten.co.jp"


@pytest.mark.parametrize("target", ["/orders", "/orders?status=confirmed&page=2", "/orders/12#history", "/タグ"])
def test_item10_a_path_on_this_site_is_a_next_target(target):
    assert safe_next_path(target) == target


@pytest.mark.parametrize("target", [
    None, "", "orders", "//evil.example/", "///evil.example", "/\\evil.example", "/\\/evil.example",
    "/\tevil.example", "/\t/evil.example", "/\r/x", "/\n/x", "/x\x00", "/x\x7f", "/x\u0085", "/orders\\..\\evil",
    "/\u200b/x", "/ x", "https://evil.example/", "http:/evil.example", "javascript:alert(1)", "data:text/html,x",
])
def test_item10_anything_else_is_not(target):
    assert safe_next_path(target) is None


@pytest.mark.parametrize("url", [RAKUTEN, RAKUTEN + "/", "HTTPS://API.RMS.Rakuten.co.jp", RAKUTEN + ":443",
                                 "https://api.rms.rakuten.co.jp./"])
def test_item10_the_same_base_url_is_allowed_whatever_its_case_default_port_or_trailing_slash(url):
    assert is_allowed_base_url(url, [RAKUTEN])


@pytest.mark.parametrize("url", [
    "https://api.rms.rakuten.co.jp.evil.example", "https://evil.example/api.rms.rakuten.co.jp",
    "https://api.rms.rakuten.co.jp@evil.example", "https://user:pass@api.rms.rakuten.co.jp",
    "http://api.rms.rakuten.co.jp", "https://api.rms.rakuten.co.jp:8443", "https://api.rms.rakuten.co.jp/es",
    "https://api.rms.rakuten.co.jp?x=1", "https://api.rms.rakuten.co.jp#x", "ftp://api.rms.rakuten.co.jp",
    "https://api.rms.rakuten.co.jp:port", "https://[::1", "", "api.rms.rakuten.co.jp",
])
def test_item10_a_look_alike_is_not_the_same_base_url(url):
    assert not is_allowed_base_url(url, [RAKUTEN])


def test_item10_a_listed_base_url_is_allowed_with_its_path():
    allowed = [RAKUTEN, "http://127.0.0.1:8080/rms-proxy/"]
    assert is_allowed_base_url("http://127.0.0.1:8080/rms-proxy", allowed)
    assert not is_allowed_base_url("http://127.0.0.1:8080/", allowed)
    assert not is_allowed_base_url("http://127.0.0.1:8080/rms-proxy/x", allowed)
    assert not is_allowed_base_url(RAKUTEN, [])


def test_item10_the_allowed_lists_are_comma_separated_and_empty_by_default(monkeypatch, tmp_path):
    assert url_list(" https://a.example , ,http://127.0.0.1:9/wh ") == ["https://a.example", "http://127.0.0.1:9/wh"]
    monkeypatch.setenv("BOSS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RMS_ALLOWED_BASE_URLS", raising=False)
    monkeypatch.setenv("WAREHOUSE_ALLOWED_BASE_URLS", "https://wms.example/api,https://wms2.example")
    config = Config()
    assert config.RMS_ALLOWED_BASE_URLS == []
    assert config.WAREHOUSE_ALLOWED_BASE_URLS == ["https://wms.example/api", "https://wms2.example"]
