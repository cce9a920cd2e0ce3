"""Identity-check actions: ID number + name, bank cards, mobile operator, ID-card OCR."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import fields, validate

from wxflow.api.faceid.actions import Handler, _load, _Params
from wxflow.api.faceid.auth import Caller
from wxflow.errors import ServiceError
from wxflow.services import eid, identity, inputs
from wxflow.services.context import ServiceContext


class IdNameParams(_Params):
    IdCard = fields.String(required=True)
    Name = fields.String(required=True)
    Encryption = fields.Dict()


class IdCardOCRParams(_Params):
    IdCard = fields.String()
    Name = fields.String()
    ImageBase64 = fields.String()
    ImageUrl = fields.String()
    Encryption = fields.Dict()
    Config = fields.String()


class IdNameDateParams(_Params):
    Name = fields.String(required=True)
    IdCard = fields.String(required=True)
    ValidityBegin = fields.String(required=True)
    ValidityEnd = fields.String(required=True)
    Encryption = fields.Dict()


class BankCardParams(_Params):
    Name = fields.String(required=True)
    BankCard = fields.String(required=True)
    IdCard = fields.String()
    Phone = fields.String()
    CertType = fields.Integer(load_default=0, strict=True)
    Encryption = fields.Dict()


class BankCardInfoParams(_Params):
    BankCard = fields.String(required=True)


class PhoneParams(_Params):
    IdCard = fields.String(required=True)
    Name = fields.String(required=True)
    Phone = fields.String(required=True)
    VerifyMode = fields.String(load_default="0", validate=validate.OneOf(["0", "1"]))
    CiphertextBlob = fields.String()
    EncryptList = fields.List(fields.String())
    Iv = fields.String()
    Encryption = fields.Dict()


class EncryptedPhoneParams(_Params):
    IdCard = fields.String(required=True)
    Name = fields.String(required=True)
    Phone = fields.String(required=True)
    EncryptionMode = fields.String(required=True)


class MobileNameParams(_Params):
    Mobile = fields.String(required=True)
    Name = fields.String(required=True)
    Encryption = fields.Dict()


class MobileStatusParams(_Params):
    Mobile = fields.String()
    Phone = fields.String()  # what earlier wxflow releases called Mobile, still accepted
    Encryption = fields.Dict()


class MobileOnlyParams(_Params):
    Mobile = fields.String(required=True)
    Encryption = fields.Dict()


class MinorsParams(_Params):
    Type = fields.String(required=True)  # "0": Mobile; "1": IdCard + Name
    Mobile = fields.String()
    IdCard = fields.String()
    Name = fields.String()
    Encryption = fields.Dict()


def id_card_verification(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    data = _load(IdNameParams(), params)
    return identity.id_card_verification(ctx, caller.merchant_id, data["IdCard"], data["Name"])


def id_card_ocr_verification(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    from wxflow.services import identity_ocr

    data = _load(IdCardOCRParams(), params)
    image = None
    if not (data.get("IdCard") and data.get("Name")):
        image = inputs.media(ctx, data.get("ImageBase64"), data.get("ImageUrl"), "image")
    return identity_ocr.id_card_ocr_verification(
        ctx, caller.merchant_id, data.get("IdCard"), data.get("Name"), image, data.get("Config")
    )


def check_id_card_information(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    from wxflow.services import identity_ocr

    data = _load(IdCardOCRParams(), params)
    image = inputs.media(ctx, data.get("ImageBase64"), data.get("ImageUrl"), "image")
    return identity_ocr.check_id_card_information(ctx, caller.merchant_id, image, data.get("Config"))


def check_id_name_date(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    data = _load(IdNameDateParams(), params)
    return identity.check_id_name_date(
        ctx, caller.merchant_id, data["Name"], data["IdCard"], data["ValidityBegin"], data["ValidityEnd"]
    )


def _bank(action: str, elements: tuple[str, ...]) -> Handler:
    def handler(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        data = _load(BankCardParams(), params)
        for name in elements:
            if not data.get(name):
                raise ServiceError("MissingParameter", f"the parameter {name} is required")
        # CertType other than 0 is the 3E / 4E table's "unsupported certificate" code, not an error.
        return identity.bank_card_verification(
            ctx,
            caller.merchant_id,
            action,
            data["Name"],
            data["BankCard"],
            data.get("IdCard") if "IdCard" in elements else None,
            data.get("Phone") if "Phone" in elements else None,
            data["CertType"] if "IdCard" in elements else 0,
        )

    return handler


def check_bank_card_information(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    data = _load(BankCardInfoParams(), params)
    return identity.check_bank_card_information(ctx, caller.merchant_id, data["BankCard"])


def _phone(action: str) -> Handler:
    def handler(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        data = _load(PhoneParams(), params)
        return identity.phone_verification(
            ctx, caller.merchant_id, action, data["IdCard"], data["Name"], data["Phone"], data["VerifyMode"]
        )

    return handler


def encrypted_phone_verification(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    data = _load(EncryptedPhoneParams(), params)
    return identity.encrypted_phone_verification(
        ctx, caller.merchant_id, data["IdCard"], data["Name"], data["Phone"], data["EncryptionMode"]
    )


def check_phone_and_name(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    data = _load(MobileNameParams(), params)
    return identity.check_phone_and_name(ctx, caller.merchant_id, data["Mobile"], data["Name"])


def mobile_status(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    data = _load(MobileStatusParams(), params)
    mobile = data.get("Mobile") or data.get("Phone")
    if not mobile:
        raise ServiceError("MissingParameter", "the parameter Mobile is required")
    return identity.mobile_status(ctx, caller.merchant_id, mobile)


def mobile_network_time(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    data = _load(MobileOnlyParams(), params)
    return identity.mobile_network_time(ctx, caller.merchant_id, data["Mobile"])


def minors_verification(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    data = _load(MinorsParams(), params)
    return identity.minors_verification(
        ctx, caller.merchant_id, data["Type"], data.get("Mobile"), data.get("IdCard"), data.get("Name") or None
    )


class EidTokenParams(_Params):
    MerchantId = fields.String(required=True)
    IdCard = fields.String()
    Name = fields.String()
    Extra = fields.String()
    Config = fields.Dict()
    RedirectUrl = fields.String()
    Encryption = fields.Dict()


class EidResultParams(_Params):
    EidToken = fields.String(required=True)
    InfoType = fields.String(load_default="0")
    BestFramesCount = fields.Integer(load_default=0, strict=True)
    IsCutIdCardImage = fields.Boolean()
    IsNeedIdCardAvatar = fields.Boolean()


class EidStatusParams(_Params):
    EidToken = fields.String(required=True)


def get_eid_token(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    data = _load(EidTokenParams(), params)
    return eid.get_eid_token(
        ctx,
        caller.merchant_id,
        eid.EidTokenRequest(
            merchant_id=data["MerchantId"],
            id_card=data.get("IdCard") or None,
            name=data.get("Name") or None,
            extra=data.get("Extra"),
            redirect_url=data.get("RedirectUrl") or None,
            config=data.get("Config"),
        ),
    )


def get_eid_result(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    data = _load(EidResultParams(), params)
    return eid.get_eid_result(ctx, caller.merchant_id, data["EidToken"], data["InfoType"], data["BestFramesCount"])


def check_eid_token_status(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    data = _load(EidStatusParams(), params)
    return eid.check_eid_token_status(ctx, caller.merchant_id, data["EidToken"])


IDENTITY_ACTIONS: dict[str, Callable[[ServiceContext, Caller, dict[str, Any]], dict[str, Any]]] = {
    "IdCardVerification": id_card_verification,
    "IdCardOCRVerification": id_card_ocr_verification,
    "CheckIdCardInformation": check_id_card_information,
    "CheckIdNameDate": check_id_name_date,
    "BankCard2EVerification": _bank("BankCard2EVerification", ()),
    "BankCardVerification": _bank("BankCardVerification", ("IdCard",)),
    "BankCard4EVerification": _bank("BankCard4EVerification", ("IdCard", "Phone")),
    "CheckBankCardInformation": check_bank_card_information,
    "PhoneVerification": _phone("PhoneVerification"),
    "PhoneVerificationCMCC": _phone("PhoneVerificationCMCC"),
    "PhoneVerificationCTCC": _phone("PhoneVerificationCTCC"),
    "PhoneVerificationCUCC": _phone("PhoneVerificationCUCC"),
    "EncryptedPhoneVerification": encrypted_phone_verification,
    "CheckPhoneAndName": check_phone_and_name,
    "MobileStatus": mobile_status,
    "MobileNetworkTimeVerification": mobile_network_time,
    "MinorsVerification": minors_verification,
    "GetEidToken": get_eid_token,
    "GetEidResult": get_eid_result,
    "CheckEidTokenStatus": check_eid_token_status,
}
