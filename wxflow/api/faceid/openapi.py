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
        {
            "BizToken": TOKEN,
            "RuleId": "123456789",
            "InfoType": "0",
            "BestFramesCount": 2,
            "IsCutIdCardImage": True,
            "IsNeedIdCardAvatar": True,
        },
        {
            "Text": {
                "ErrCode": 0,
                "ErrMsg": "成功",
                # A rule with ID-card OCR and no IdCard/Name in DetectAuth: the card's identity was verified.
                "IdCard": "370782198709170246",
                "Name": "小静",
                "IdInfoFrom": "OCR",
                "OcrName": "小静",
                "OcrIdCard": "370782198709170246",
                "OcrGender": "女",
                "OcrNation": "汉",
                "OcrBirth": "1987/9/17",
                "OcrAddress": "北京市海淀区西北旺东路100号中关村科技园",
                "OcrAuthority": "北京市公安局海淀分局",
                "OcrValidDate": "2015.01.01-2035.01.01",
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
            "IdCardData": {
                "OcrFront": B64,
                "OcrBack": B64,
                "ProcessedFrontImage": B64,
                "ProcessedBackImage": B64,
                "Avatar": B64,
                "WarnInfos": [-9101],
                "BackWarnInfos": [],
            },
            "RequestId": REQ_ID,
        },
    ),
    "GetDetectInfo": (
        {"BizToken": TOKEN, "RuleId": "123456789", "InfoType": "12"},
        {
            "DetectInfo": '{"Text": {"ErrCode": 0, "Sim": "86.51", "IdInfoFrom": "OCR", "...": "..."}, '
            '"IdCardData": {"OcrFront": "<base64>", "OcrBack": "<base64>"}}',
            "RequestId": REQ_ID,
        },
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

ID = "370782198709170246"
# Identity checks (docs/identity.md): the authority is the local registry or an HTTP provider.
EXAMPLES.update(
    {
        "IdCardVerification": (
            {"IdCard": ID, "Name": "小静"},
            {"Result": "0", "Description": "姓名和身份证号一致", "RequestId": REQ_ID},
        ),
        "IdCardOCRVerification": (
            {"ImageBase64": B64, "Config": '{"BorderCheckWarn": true, "Quality": true}'},
            {
                "Result": "0",
                "Description": "姓名和身份证号一致",
                "Name": "小静",
                "IdCard": ID,
                "Sex": "女",
                "Nation": "汉",
                "Birth": "1987/9/17",
                "Address": "北京市海淀区西北旺东路100号中关村科技园",
                "Portrait": B64,
                "Warnings": None,
                "Quality": 70.38,
                "RequestId": REQ_ID,
            },
        ),
        "CheckIdCardInformation": (
            {"ImageBase64": B64, "Config": '{"Quality": true}'},
            {
                "Sim": 81.2,
                "Result": "Success",
                "Description": "成功",
                "Name": "小静",
                "Sex": "女",
                "Nation": "汉",
                "Birth": "1987/9/17",
                "Address": "北京市海淀区西北旺东路100号中关村科技园",
                "IdNum": ID,
                "Portrait": B64,
                "Warnings": None,
                "Quality": 70.38,
                "Encryption": None,
                "RequestId": REQ_ID,
            },
        ),
        "CheckIdNameDate": (
            {"Name": "小静", "IdCard": ID, "ValidityBegin": "20150101", "ValidityEnd": "20350101"},
            {"Result": "0", "Description": "姓名、身份证号、有效期一致", "RequestId": REQ_ID},
        ),
        "BankCard2EVerification": (
            {"Name": "小静", "BankCard": "6222020200112345678"},
            {"Result": "-11", "Description": "此卡已挂失", "RequestId": REQ_ID},
        ),
        "BankCardVerification": (
            {"Name": "小静", "BankCard": "6222020200112345678", "IdCard": ID, "CertType": 0},
            {"Result": "0", "Description": "认证通过", "RequestId": REQ_ID},
        ),
        "BankCard4EVerification": (
            {"Name": "小静", "BankCard": "6222020200112345678", "IdCard": ID, "Phone": "13800138000"},
            {"Result": "-1", "Description": "认证未通过", "RequestId": REQ_ID},
        ),
        "CheckBankCardInformation": (
            {"BankCard": "6222020200112345678"},
            {
                "Result": "0",
                "Description": "查询成功",
                "AccountBank": "工商银行",
                "AccountType": 1,
                "RequestId": REQ_ID,
            },
        ),
        "PhoneVerification": (
            {"IdCard": ID, "Name": "小静", "Phone": "13800138000", "VerifyMode": "1"},
            {
                "Result": "-4",
                "Description": "三要素信息不一致",
                "Isp": "移动",
                "ResultDetail": "PhoneNameMismatch",
                "RequestId": REQ_ID,
            },
        ),
        "EncryptedPhoneVerification": (
            {"IdCard": "<sha256 hex>", "Name": "<sha256 hex>", "Phone": "<sha256 hex>", "EncryptionMode": "2"},
            {"Result": "0", "Description": "三要素信息一致", "ISP": "移动", "RequestId": REQ_ID},
        ),
        "CheckPhoneAndName": (
            {"Mobile": "13800138000", "Name": "小静"},
            {"Result": "0", "Description": "验证结果一致", "RequestId": REQ_ID},
        ),
        "MobileStatus": (
            {"Mobile": "13800138000"},
            {"Result": "0", "Description": "成功", "StatusCode": 0, "RequestId": REQ_ID},
        ),
        "MobileNetworkTimeVerification": (
            {"Mobile": "13800138000"},
            {"Result": "0", "Description": "成功", "Range": "[24,+)", "RequestId": REQ_ID},
        ),
        "MinorsVerification": (
            {"Type": "1", "IdCard": ID, "Name": "小静"},
            {"Result": "0", "Description": "成年", "AgeRange": "[18,+)", "RequestId": REQ_ID},
        ),
    }
)
# E证通: a flow whose identity step the authority serves; MerchantId is one of the caller's RuleIds.
EXAMPLES.update(
    {
        "GetEidToken": (
            {
                "MerchantId": "123456789",
                "IdCard": ID,
                "Name": "小静",
                "RedirectUrl": "https://shop.example/back",
                "Extra": "order-43",
                "Config": {"InputType": "4"},
            },
            {"EidToken": TOKEN, "Url": f"https://wxflow.example/h5/verify?token={TOKEN}", "RequestId": REQ_ID},
        ),
        "CheckEidTokenStatus": ({"EidToken": TOKEN}, {"Status": "finished", "RequestId": REQ_ID}),
        "GetEidResult": (
            {"EidToken": TOKEN, "InfoType": "0", "BestFramesCount": 1},
            {
                "Text": {
                    "ErrCode": 0,
                    "ErrMsg": "成功",
                    "IdCard": ID,
                    "Name": "小静",
                    "IdInfoFrom": "手动输入",
                    "LiveStatus": 0,
                    "Comparestatus": 0,
                    "Sim": "88.02",
                    "Extra": "order-43",
                    "CompareLibType": "权威库",
                    "LivenessMode": 3,
                    "...": "...",
                },
                "IdCardData": None,
                "BestFrame": {"BestFrame": B64, "BestFrames": [B64]},
                "EidInfo": {
                    "EidCode": "9f3c2a…(64 hex: HMAC of merchant + ID number)",
                    "EidSign": None,
                    "DesKey": None,
                    "UserInfo": None,
                },
                "IntentionVerifyData": None,
                "RequestId": REQ_ID,
            },
        ),
    }
)
for _carrier, _isp, _phone in (
    ("CMCC", "移动", "13800138000"),
    ("CTCC", "电信", "13300000000"),
    ("CUCC", "联通", "13012345678"),
):
    EXAMPLES[f"PhoneVerification{_carrier}"] = (
        {"IdCard": ID, "Name": "小静", "Phone": _phone},
        {"Result": "0", "Description": "认证通过", "Isp": _isp, "RequestId": REQ_ID},
    )

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
