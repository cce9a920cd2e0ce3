"""The official tencentcloud-sdk-python-faceid client, pointed at a local wxflow."""

from __future__ import annotations

import json
from typing import Any

from tencentcloud.common.credential import Credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.faceid.v20180301 import faceid_client, models


def profile(host_port: str, language: str = "zh-CN") -> ClientProfile:
    http = HttpProfile(protocol="http", endpoint=host_port, reqTimeout=60)
    return ClientProfile(httpProfile=http, language=language)


def client(secret_id: str, secret_key: str, host_port: str, language: str = "zh-CN") -> faceid_client.FaceidClient:
    return faceid_client.FaceidClient(Credential(secret_id, secret_key), "", profile(host_port, language))


def request(model_name: str, **fields: Any) -> Any:
    req = getattr(models, model_name)()
    req.from_json_string(json.dumps(fields))
    return req


def common(secret_id: str, secret_key: str, host_port: str) -> Any:
    """CommonClient: calls any action by name, including ones this SDK release no longer lists."""
    from tencentcloud.common.common_client import CommonClient

    return CommonClient("faceid", "2018-03-01", Credential(secret_id, secret_key), "", profile(host_port))


def valid_id_card(prefix17: str) -> str:
    """Complete 17 digits with their GB 11643 check digit."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return prefix17 + "10X98765432"[sum(int(d) * w for d, w in zip(prefix17, weights, strict=True)) % 11]
