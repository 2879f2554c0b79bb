"""The client reads RMS answers with orjson (client._document): the same documents and values as
`response.json()`, which still reads whatever orjson refuses."""
from __future__ import annotations

import json

import pytest
import requests

from boss.malls.rakuten import client


def _response(body: bytes, content_type: str = "application/json;charset=UTF-8") -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = body
    response.headers["Content-Type"] = content_type
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)  # as requests' adapter sets it
    return response


def _as_before(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return None


ANSWERS = [
    ('{"MessageModelList": [{"messageType": "INFO", "message": "受注情報取得に成功しました。"}], '
     '"OrderModelList": [{"orderNumber": "1-2", "price": 2200, "taxRate": 0.1, "remarks": null, "x": true}]}').encode(),
    json.dumps({"OrderModelList": [{"familyName": "山田", "firstName": "花子"}]}).encode(),  # \u escapes
    b'{"a": NaN, "b": Infinity}',  # the json module's extensions
    b'{"big": 123456789012345678901234567890, "small": -9223372036854775809}',  # beyond 64 bits
    b'{"long": 18446744073709551615, "orderNumber": "1234567890123456789"}',  # within 64 bits; digits in a text
    b'{"lone": "\\ud800"}',  # a lone surrogate
    b'{"a": 1, "a": 2}',  # a repeated key: the last wins
    '{"bom": 1}'.encode("utf-8-sig"),
    b'{"broken": "\xff\xfe"}',  # not UTF-8: requests replaces the bytes
    b"", b"<html>Bad Gateway</html>", b'{"a": 1} trailing', b"[1, 2]",
]


@pytest.mark.parametrize("body", ANSWERS)
def test_an_answer_reads_as_response_json_reads_it(body):
    assert repr(client._document(_response(body))) == repr(_as_before(_response(body)))


def test_an_answer_in_another_charset_is_decoded_by_requests_as_before():
    body = '{"name": "山田"}'.encode("shift_jis")
    response = _response(body, "application/json; charset=Shift_JIS")
    assert client._document(response) == _as_before(_response(body, "application/json; charset=Shift_JIS")) == {"name": "山田"}
