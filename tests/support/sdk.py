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
