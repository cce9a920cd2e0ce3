"""Error codes and their texts, in one module that every transport maps from.

``ServiceError`` is the domain error the service layer raises. The TC3 endpoint renders it as
``Response.Error`` with ``code``; the device API renders it in flask-smorest's error shape with
``http_status``. SaaS integer codes (``ErrCode``/``LiveStatus``/``Comparestatus``) and their messages
live in ``SAAS_MESSAGES``.
"""

from __future__ import annotations

from typing import Any

# TC3 error codes -> (zh-CN, en-US) default messages.
API_MESSAGES: dict[str, tuple[str, str]] = {
    "AuthFailure.InvalidAuthorization": (
        "请求头部 Authorization 不符合规范。",
        "The Authorization header is malformed.",
    ),
    "AuthFailure.SecretIdNotFound": ("密钥不存在。", "The SecretId does not exist."),
    "AuthFailure.SignatureFailure": ("签名错误。", "The signature does not match."),
    "AuthFailure.SignatureExpire": ("签名过期。", "The request timestamp is outside the allowed window."),
    "AuthFailure.UnauthorizedOperation": ("请求未授权。", "The operation is not authorised."),
    "InvalidAction": ("接口不存在。", "The action does not exist."),
    "InvalidParameter": ("参数错误。", "A parameter is invalid."),
    "InvalidParameterValue": ("参数取值错误。", "A parameter value is invalid."),
    "MissingParameter": ("缺少参数。", "A required parameter is missing."),
    "UnknownParameter": ("未知参数。", "An unknown parameter was sent."),
    "NoSuchVersion": ("接口版本不存在。", "The API version does not exist."),
    "RequestLimitExceeded": ("请求的次数超过了频率限制。", "Too many requests."),
    "InternalError": ("内部错误。", "Internal error."),
    "UnsupportedOperation": ("操作不支持。", "The operation is not supported."),
    "LimitExceeded": ("超过配额限制。", "A quota was exceeded."),
    "InvalidParameterValue.RuleIdNotExist": ("RuleId 不存在。", "The RuleId does not exist."),
    "InvalidParameterValue.RuleIdDisabled": ("RuleId 已停用。", "The RuleId is disabled."),
    "InvalidParameterValue.BizTokenExpired": ("BizToken 已过期。", "The BizToken has expired."),
    "InvalidParameterValue.BizTokenIllegal": ("BizToken 不合法。", "The BizToken is not valid for this caller."),
    "FailedOperation.ImageDecodeFailed": ("图片解码失败。", "The image could not be decoded."),
    "FailedOperation.ImageSizeTooLarge": ("图片过大。", "The image is too large."),
    "FailedOperation.LifePhotoDetectNoFaces": ("照片中未检测到人脸。", "No face was found in the photo."),
    "FailedOperation.LifePhotoDetectFaces": ("照片中检测到多张人脸。", "Several faces were found in the photo."),
    "FailedOperation.LifePhotoPoorQuality": ("照片质量过差。", "The photo's quality is too poor."),
    "FailedOperation.VideoDecodeFailed": ("视频解码失败。", "The video could not be decoded."),
    "FailedOperation.VideoDurationExceeded": ("视频过长或过大。", "The video is too long or too large."),
}

# SaaS integer codes (spec section 6) -> (zh-CN, en-US).
SAAS_MESSAGES: dict[int, tuple[str, str]] = {
    0: ("成功", "Success"),
    4: ("服务异常", "Service error"),
    14: ("核身已完成", "The verification is already complete"),
    15: ("token 已过期", "The token has expired"),
    16: ("重试次数已达上限", "The retry limit was reached"),
    17: ("核身流程未完成", "The verification has not finished"),
    302: ("身份证已过期", "The ID card has expired"),
    1001: ("调用活体引擎超时", "The liveness engine timed out"),
    1002: ("疑似非真人录制", "Suspected non-live recording"),
    1102: ("人脸不完整或未检测到人脸", "The face is incomplete or was not found"),
    1104: ("视频格式有误", "The video format is invalid"),
    1107: ("视频为空或长度不符", "The video is empty or its length is wrong"),
    1301: ("疑似非真人", "Suspected non-live"),
    1302: ("实人验证失败", "Verification failed"),
    1303: ("视频过短", "The video is too short (record more than 2 s)"),
    2001: ("权威库服务繁忙", "The authority is busy; try again"),
    2004: ("视频截帧失败", "No usable frame could be extracted"),
    2005: ("权威库中没有此身份信息", "The authority has no record for this ID number"),
    2006: ("姓名和身份证号不一致", "The name does not match the ID number"),
    2007: ("权威库中没有此人照片", "The authority holds no photo of this person"),
    2009: ("照片分辨率过低或无法解析", "The photo could not be used"),
    2010: ("人脸不完整", "The face is incomplete"),
    2012: ("检测到多张人脸", "Several faces were found"),
    2015: ("比对失败", "The comparison failed"),
    2016: ("比对相似度未达到通过标准", "The similarity is below the pass mark"),
    2017: ("权威库升级中", "The authority is being upgraded; try again later"),
}


def saas_message(code: int, language: str = "zh-CN") -> str:
    zh, en = SAAS_MESSAGES.get(code, SAAS_MESSAGES[4])
    return en if language == "en-US" else zh


class ServiceError(Exception):
    """A refusal the caller can act on; never a crash."""

    def __init__(
        self, code: str, message: str | None = None, *, http_status: int = 400, details: dict[str, Any] | None = None
    ) -> None:
        self.code = code
        self.http_status = http_status
        self.details = details or {}
        self.custom_message = message
        super().__init__(message or code)

    def message(self, language: str = "zh-CN") -> str:
        if self.custom_message:
            return self.custom_message
        zh, en = API_MESSAGES.get(self.code, API_MESSAGES.get(self.code.split(".")[0], ("错误", "Error")))
        return en if language == "en-US" else zh


class NotFound(ServiceError):
    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(code, message, http_status=404)


class Conflict(ServiceError):
    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(code, message, http_status=409)


class Gone(ServiceError):
    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(code, message, http_status=410)
