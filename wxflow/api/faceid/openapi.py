"""The TC3 endpoint in the OpenAPI document: one POST / whose action is a header, with an example per action."""

from __future__ import annotations

from typing import Any

B64 = "<base64>"
TOKEN = "CE661F1A-0F1E-45BD-BE13-34C05CEA7681"
REQ_ID = "2bd0a3e6-3d7c-4b4e-9a1c-2f7d1c8e9b10"

# action -> (request body, response body inside "Response")
EXAMPLES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "DetectAuth": (
        {"RuleId": "123456789", "RedirectUrl": "https://shop.example/back", "ImageBase64": B64, "Extra": "order-42"},
        {"Url": f"https://wxflow.example/h5/verify?token={TOKEN}", "BizToken": TOKEN, "RequestId": REQ_ID},
    ),
    "GetDetectInfoEnhanced": (
        {"BizToken": TOKEN, "RuleId": "123456789", "InfoType": "0", "BestFramesCount": 2},
        {
            "Text": {
                "ErrCode": 0,
                "ErrMsg": "成功",
                "LiveStatus": 0,
                "LiveMsg": "成功",
                "Comparestatus": 0,
                "Comparemsg": "成功",
                "Sim": "86.51",
                "Extra": "order-42",
                "LivenessMode": 3,
                "CompareLibType": "业务方自有库",
                "LivenessInfoTag": [],
                "LivenessDetail": [
                    {
                        "ReqTime": "1764863000000",
                        "Seq": "6b1e9bcf-...",
                        "Errcode": 0,
                        "Sim": "86.51",
                        "Livestatus": 0,
                        "Comparestatus": 0,
                        "LivenessMode": 3,
                    }
                ],
            },
            "BestFrame": {"BestFrame": B64, "BestFrames": [B64, B64]},
            "VideoData": {"LivenessVideo": B64},
            "IdCardData": None,
            "RequestId": REQ_ID,
        },
    ),
    "GetDetectInfo": (
        {"BizToken": TOKEN, "RuleId": "123456789", "InfoType": "1"},
        {"DetectInfo": '{"Text": {"ErrCode": 0, "Sim": "86.51", "...": "..."}}', "RequestId": REQ_ID},
    ),
    "GetLiveCode": ({}, {"LiveCode": "4172", "RequestId": REQ_ID}),
    "GetActionSequence": ({}, {"ActionSequence": "2,1", "RequestId": REQ_ID}),
    "LivenessCompare": (
        {"LivenessType": "SILENT", "VideoBase64": B64, "ImageBase64": B64, "Optional": '{"BestFrameNum": 2}'},
        {
            "Result": "Success",
            "Description": "成功",
            "Sim": 86.51,
            "BestFrameBase64": B64,
            "BestFrameList": [B64, B64],
            "RequestId": REQ_ID,
        },
    ),
    "LivenessRecognition": (
        {
            "LivenessType": "ACTION",
            "ValidateData": "2,1",
            "VideoBase64": B64,
            "IdCard": "370782198709170246",
            "Name": "小静",
        },
        {
            "Result": "FailedOperation.IdNameMisMatch",
            "Description": "姓名和身份证号不一致",
            "Sim": 0.0,
            "BestFrameBase64": None,
            "BestFrameList": None,
            "RequestId": REQ_ID,
        },
    ),
    "Liveness": (
        {"LivenessType": "SILENT", "VideoBase64": B64},
        {
            "Result": "FailedOperation.SilentPictureLiveFail",
            "Description": "翻拍或合成攻击，活体检测未通过",
            "BestFrameBase64": B64,
            "BestFrameList": None,
            "RequestId": REQ_ID,
        },
    ),
    "ImageRecognitionV2": (
        {"IdCard": "370782198709170246", "Name": "小静", "ImageBase64": B64},
        {"Sim": 84.2, "Result": "Success", "Description": "成功", "Extra": None, "RequestId": REQ_ID},
    ),
    "ImageRecognition": (
        {"IdCard": "370782198709170246", "Name": "小静", "ImageBase64": B64},
        {
            "Sim": 31.7,
            "Result": "FailedOperation.CompareLowSimilarity",
            "Description": "比对相似度未达到通过标准",
            "Extra": None,
            "RequestId": REQ_ID,
        },
    ),
    "GetFaceIdToken": (
        {"CompareLib": "LOCAL", "ImageBase64": B64, "Extra": "app-1"},
        {"FaceIdToken": TOKEN, "RequestId": REQ_ID},
    ),
    "GetFaceIdResult": (
        {"FaceIdToken": TOKEN, "IsNeedVideo": False, "IsNeedBestFrame": True},
        {
            "Result": "Success",
            "Description": "成功",
            "Similarity": 86.51,
            "IdCard": None,
            "Name": None,
            "Extra": "app-1",
            "BestFrameBase64": B64,
            "VideoBase64": None,
            "LivenessInfoTag": [],
            "RequestId": REQ_ID,
        },
    ),
}

ERROR_EXAMPLE = {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "签名错误。"}, "RequestId": REQ_ID}


def document(spec: Any, rule: Any, actions: list[str]) -> None:
    """Add ``POST /`` (its Flask ``rule``) to the OpenAPI document with one named example per action."""
    spec.path(
        rule=rule,
        operations={
            "post": {
                "tags": ["faceid"],
                "summary": "Tencent Cloud FaceID-compatible actions (TC3-HMAC-SHA256)",
                "description": (
                    "The action is the `X-TC-Action` header, the version `X-TC-Version: 2018-03-01`. "
                    "Requests are signed with TC3-HMAC-SHA256 (service `faceid`). Every answer is HTTP 200 "
                    "with `Content-Type: application/json`; errors are `Response.Error`. See docs/faceid-api.md."
                ),
                "parameters": [
                    {
                        "in": "header",
                        "name": "X-TC-Action",
                        "required": True,
                        "schema": {"type": "string", "enum": actions},
                    },
                    {"in": "header", "name": "X-TC-Timestamp", "required": True, "schema": {"type": "integer"}},
                    {"in": "header", "name": "X-TC-Language", "schema": {"type": "string", "enum": ["zh-CN", "en-US"]}},
                    {"in": "header", "name": "Authorization", "required": True, "schema": {"type": "string"}},
                ],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"type": "object"},
                            "examples": {a: {"summary": a, "value": EXAMPLES[a][0]} for a in actions},
                        }
                    }
                },
                "responses": {
                    "200": {
                        "description": '`{"Response": {...}}`: the action\'s fields, or `Error`',
                        "content": {
                            "application/json": {
                                "schema": {"type": "object"},
                                "examples": {
                                    **{a: {"summary": a, "value": {"Response": EXAMPLES[a][1]}} for a in actions},
                                    "error": {"summary": "an error", "value": {"Response": ERROR_EXAMPLE}},
                                },
                            }
                        },
                    }
                },
            }
        },
    )
