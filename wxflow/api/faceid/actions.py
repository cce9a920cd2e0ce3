"""Action handlers: validate parameters with marshmallow, call one service function, shape the fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from wxflow.api.faceid.auth import Caller
from wxflow.errors import ServiceError
from wxflow.services import flows
from wxflow.services.context import ServiceContext

Handler = Callable[[ServiceContext, Caller, dict[str, Any]], dict[str, Any]]


class _Params(Schema):
    class Meta:
        # New SDK releases add fields; an unknown one is ignored rather than refused.
        unknown = EXCLUDE


class DetectAuthParams(_Params):
    RuleId = fields.String(required=True, validate=validate.Length(min=1, max=32))
    TerminalType = fields.String()
    IdCard = fields.String(validate=validate.Length(max=32))
    Name = fields.String()
    RedirectUrl = fields.String()
    Extra = fields.String()
    ImageBase64 = fields.String()
    Encryption = fields.Dict()
    IntentionVerifyText = fields.String()
    IntentionQuestions = fields.List(fields.Dict())
    IntentionActions = fields.List(fields.Dict())
    Config = fields.Dict()


class DetectInfoParams(_Params):
    BizToken = fields.String(required=True)
    RuleId = fields.String(required=True)
    InfoType = fields.String(load_default="0")
    BestFramesCount = fields.Integer(load_default=0, strict=True)
    IsCutIdCardImage = fields.Boolean()
    IsNeedIdCardAvatar = fields.Boolean()
    Encryption = fields.Dict()
    IsEncryptResponse = fields.Boolean()
    IsReturnAllVideo = fields.Boolean()


def _load(schema: Schema, params: dict[str, Any]) -> dict[str, Any]:
    try:
        return schema.load(params)
    except ValidationError as exc:
        messages = exc.normalized_messages()
        field_name, problems = next(iter(messages.items())) if isinstance(messages, dict) else ("", messages)
        text = problems[0] if isinstance(problems, list) and problems else str(problems)
        if "Missing data" in str(text):
            raise ServiceError("MissingParameter", f"the parameter {field_name} is required") from None
        raise ServiceError("InvalidParameter", f"the parameter {field_name} is invalid: {text}") from None


def _refuse_encryption(data: dict[str, Any]) -> None:
    if data.get("Encryption"):
        raise ServiceError("InvalidParameter.UnsupportEncryptField", "the Encryption object is not supported yet")


def detect_auth(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    data = _load(DetectAuthParams(), params)
    _refuse_encryption(data)
    return flows.detect_auth(
        ctx,
        caller.merchant_id,
        flows.DetectAuthRequest(
            rule_id=data["RuleId"],
            redirect_url=data.get("RedirectUrl") or None,
            extra=data.get("Extra"),
            image_base64=data.get("ImageBase64") or None,
            id_card=data.get("IdCard") or None,
            name=data.get("Name") or None,
        ),
    )


def _detect_info_request(params: dict[str, Any]) -> flows.DetectInfoRequest:
    data = _load(DetectInfoParams(), params)
    _refuse_encryption(data)
    if data.get("IsEncryptResponse"):
        raise ServiceError("InvalidParameter.UnsupportEncryptField", "encrypted responses are not supported yet")
    return flows.DetectInfoRequest(data["BizToken"], data["RuleId"], data["InfoType"], data["BestFramesCount"])


def get_detect_info_enhanced(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    result = flows.detect_info(ctx, caller.merchant_id, _detect_info_request(params))
    result.update(
        Encryption=None,
        EncryptedBody=None,
        IntentionVerifyData=None,
        IntentionQuestionResult=None,
        IntentionActionResult=None,
    )
    return result


def get_detect_info(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    return {"DetectInfo": flows.legacy_detect_info(ctx, caller.merchant_id, _detect_info_request(params))}


ACTIONS: dict[str, Handler] = {
    "DetectAuth": detect_auth,
    "GetDetectInfoEnhanced": get_detect_info_enhanced,
    "GetDetectInfo": get_detect_info,
}
