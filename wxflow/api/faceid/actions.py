"""Action handlers: validate parameters with marshmallow, call one service function, shape the fields."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from wxflow.api.faceid.auth import Caller
from wxflow.errors import ServiceError
from wxflow.services import flows, inputs, paas
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
        # A wrong type is InvalidParameter; a well-typed value outside what is allowed, InvalidParameterValue.
        code = "InvalidParameter" if str(text).startswith("Not a valid") else "InvalidParameterValue"
        raise ServiceError(code, f"the parameter {field_name} is invalid: {text}") from None


def detect_auth(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    data = _load(DetectAuthParams(), params)
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
    return flows.DetectInfoRequest(
        data["BizToken"],
        data["RuleId"],
        data["InfoType"],
        data["BestFramesCount"],
        cut_id_card_image=bool(data.get("IsCutIdCardImage")),
        need_id_card_avatar=bool(data.get("IsNeedIdCardAvatar")),
    )


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


# --- PaaS face actions -----------------------------------------------------------------------------


class LivenessParams(_Params):
    LivenessType = fields.String(required=True, validate=validate.OneOf(["LIP", "ACTION", "SILENT"]))
    ValidateData = fields.String(load_default="")
    VideoBase64 = fields.String()
    VideoUrl = fields.String()
    ImageBase64 = fields.String()
    ImageUrl = fields.String()
    IdCard = fields.String()
    Name = fields.String()
    Optional = fields.String()
    Encryption = fields.Dict()


class ImageRecognitionParams(_Params):
    IdCard = fields.String(required=True)
    Name = fields.String(required=True)
    ImageBase64 = fields.String()
    ImageUrl = fields.String()
    Optional = fields.String()
    Encryption = fields.Dict()
    Extra = fields.String()


class FaceIdTokenParams(_Params):
    CompareLib = fields.String(required=True)
    IdCard = fields.String()
    Name = fields.String()
    ImageBase64 = fields.String()
    Meta = fields.String()
    Extra = fields.String()
    RuleId = fields.String()
    Encryption = fields.Dict()


class FaceIdResultParams(_Params):
    FaceIdToken = fields.String(required=True)
    IsNeedVideo = fields.Boolean(load_default=False)
    IsNeedBestFrame = fields.Boolean(load_default=False)


def _best_frame_num(optional: str | None) -> int:
    if not optional:
        return 0
    try:
        value = json.loads(optional)
        number = int(value.get("BestFrameNum", 0)) if isinstance(value, dict) else -1
    except (ValueError, TypeError, AttributeError):
        raise ServiceError("InvalidParameter", 'Optional must be a JSON string such as {"BestFrameNum": 2}') from None
    return number


def get_live_code(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    return {"LiveCode": paas.issue_challenge(ctx, caller.merchant_id, "digit")}


def get_action_sequence(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    return {"ActionSequence": paas.issue_challenge(ctx, caller.merchant_id, "action")}


def _liveness(action: str) -> Handler:
    def handler(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        data = _load(LivenessParams(), params)
        video = inputs.media(ctx, data.get("VideoBase64"), data.get("VideoUrl"), "video")
        image = None
        if action == "LivenessCompare":
            image = inputs.media(ctx, data.get("ImageBase64"), data.get("ImageUrl"), "image")
        best_frame_num = _best_frame_num(data.get("Optional"))
        result = paas.liveness(
            ctx,
            caller.merchant_id,
            paas.LivenessRequest(
                action=action,
                liveness_type=data["LivenessType"],
                validate_data=data["ValidateData"],
                video=video or b"",
                image=image,
                id_card=data.get("IdCard"),
                name=data.get("Name"),
                best_frame_num=best_frame_num,
            ),
        )
        frames = result.pop("BestFrames")
        out = {
            "BestFrameBase64": frames[0] if frames else None,
            "Result": result["Result"],
            "Description": result["Description"],
            "BestFrameList": frames if best_frame_num else None,
        }
        if action != "Liveness":
            out["Sim"] = result["Sim"]
        return out

    return handler


def _image_recognition(action: str) -> Handler:
    def handler(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        data = _load(ImageRecognitionParams(), params)
        image = inputs.media(ctx, data.get("ImageBase64"), data.get("ImageUrl"), "image")
        result = paas.image_recognition(ctx, caller.merchant_id, action, image or b"", data["IdCard"], data["Name"])
        return {
            "Sim": result["Sim"],
            "Result": result["Result"],
            "Description": result["Description"],
            "Extra": data.get("Extra"),
        }

    return handler


def get_face_id_token(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    data = _load(FaceIdTokenParams(), params)
    token = flows.faceid_token(
        ctx,
        caller.merchant_id,
        data["CompareLib"],
        flows.DetectAuthRequest(
            rule_id=data.get("RuleId") or "",
            extra=data.get("Extra"),
            image_base64=data.get("ImageBase64") or None,
            id_card=data.get("IdCard") or None,
            name=data.get("Name") or None,
        ),
    )
    return {"FaceIdToken": token}


def get_face_id_result(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    data = _load(FaceIdResultParams(), params)
    return flows.faceid_result(
        ctx, caller.merchant_id, data["FaceIdToken"], data["IsNeedVideo"], data["IsNeedBestFrame"]
    )


ACTIONS: dict[str, Handler] = {
    "DetectAuth": detect_auth,
    "GetDetectInfoEnhanced": get_detect_info_enhanced,
    "GetDetectInfo": get_detect_info,
    "GetLiveCode": get_live_code,
    "GetActionSequence": get_action_sequence,
    "LivenessCompare": _liveness("LivenessCompare"),
    "LivenessRecognition": _liveness("LivenessRecognition"),
    "Liveness": _liveness("Liveness"),
    "ImageRecognitionV2": _image_recognition("ImageRecognitionV2"),
    "ImageRecognition": _image_recognition("ImageRecognition"),
    "GetFaceIdToken": get_face_id_token,
    "GetFaceIdResult": get_face_id_result,
}

# Identity checks (ID number, bank cards, mobile operator, ID-card OCR) live in their own module.
from wxflow.api.faceid.identity_actions import IDENTITY_ACTIONS  # noqa: E402

ACTIONS.update(IDENTITY_ACTIONS)
