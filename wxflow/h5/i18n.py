"""The page's texts in zh-CN (default) and en-US, and how a request picks one."""

from __future__ import annotations

from wxflow.services.flows import USER_OUTCOMES

LANGS = ("zh-CN", "en-US")
DEFAULT_LANG = "zh-CN"
LANG_COOKIE = "wxflow_lang"

STRINGS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "人脸核身",
        "switch_lang": "English",
        "loading": "正在加载…",
        "consent_h": "开始人脸核身",
        "consent_p": "我们将打开前置摄像头，录制几秒钟的视频，用于确认是您本人在操作。视频仅用于本次核身。",
        "consent_agree": "我已阅读并同意使用摄像头进行核身",
        "tips_h": "准备工作",
        "tip_light": "在光线充足的地方，正对屏幕",
        "tip_face": "摘下帽子、口罩和墨镜",
        "tip_alone": "画面中只保留您一个人",
        "mode_silent": "请正对镜头，自然眨眼，录制约 3 秒。",
        "mode_action": "请按提示依次完成动作。",
        "mode_digit": "请用普通话大声读出屏幕上的数字。",
        "mode_light": "录制时屏幕会变换颜色，请保持面部靠近屏幕。",
        "mode_flash": "录制时屏幕会闪烁颜色，请先眨眼，再保持不动。",
        "brightness": "请把屏幕亮度调到最高。",
        "photosensitive_h": "光敏提示",
        "photosensitive_p": "此步骤会在屏幕上快速切换颜色。如果您对闪烁光线敏感，"
        "请开启柔和模式（颜色渐变、不闪烁），或联系商户改用其他方式核身。",
        "photosensitive_soft": "柔和模式（不闪烁）",
        "start": "开始",
        "attempts_left": "剩余次数：{n}",
        "card_front_h": "拍摄身份证人像面",
        "card_back_h": "拍摄身份证国徽面",
        "card_front_p": "请将身份证人像面平放，光线充足，让卡片占满画面后拍照。",
        "card_back_p": "请翻到国徽面（签发机关、有效期限），同样平放拍照。",
        "card_note": "身份证照片仅用于本次核身，加密保存，到期删除。",
        "card_take": "拍照或选择照片",
        "card_retake": "重新拍摄",
        "card_reading": "正在识别…",
        "card_next_back": "下一步：拍摄国徽面",
        "card_next_face": "信息无误，下一步：人脸核身",
        "card_name": "姓名",
        "card_id": "公民身份号码",
        "card_authority": "签发机关",
        "card_valid": "有效期限",
        "card_check": "请核对识别结果，如有错误请重新拍摄。",
        "card_unreadable": "未能识别身份证，请平放卡片、避免反光，让卡片占满画面后重新拍摄。",
        "card_bad_number": "识别出的身份证号码无效，请重新拍摄清晰的照片。",
        "card_wrong_side": "拍到的是另一面，请按提示拍摄正确的一面。",
        "card_mismatch": "这张身份证与本次核身的身份不符，请使用本人的身份证。",
        "card_too_large": "照片太大，请重新拍摄。",
        "card_busy": "服务繁忙，请稍后重试。",
        "card_network": "网络中断，照片未上传，请重试。",
        "card_identity_failed": "未能核实身份证上的身份信息。",
        "camera_h": "请将面部放入框内",
        "record": "开始录制",
        "recording": "录制中…",
        "challenge_action": "依次完成：",
        "challenge_digit": "请读出：",
        "hint_ok": "很好，请保持",
        "hint_no_face": "未检测到人脸",
        "hint_far": "请靠近一点",
        "hint_close": "请离远一点",
        "hint_dark": "光线太暗",
        "hint_still": "请保持不动",
        "act_blink": "眨眨眼",
        "act_open_mouth": "张张嘴",
        "act_nod": "点点头",
        "act_shake": "摇摇头",
        "uploading": "正在上传…",
        "waiting": "正在核验，请稍候…",
        "waiting_slow": "核验时间较长，请不要关闭页面。",
        "pass_h": "核身通过",
        "pass_p": "正在返回商户页面…",
        "back": "返回商户",
        "close_p": "您可以关闭此页面。",
        "retry_h": "未通过",
        "retry": "再试一次",
        "fail_h": "核身未通过",
        "denied_h": "无法使用摄像头",
        "denied_p": "您拒绝了摄像头权限。请在浏览器或微信设置中允许本页面使用摄像头，然后重试。",
        "denied_retry": "重新请求权限",
        "unsupported_h": "浏览器不支持页面内录制",
        "unsupported_p": "请点击下方按钮，用前置摄像头录制一段视频后上传。",
        "unsupported_pick": "录制视频并上传",
        "expired_h": "链接已过期",
        "expired_p": "本次核身已过期，请返回商户页面重新发起。",
        "network_h": "网络中断",
        "network_p": "视频上传失败，录制内容还在。请检查网络后重新上传，无需重新录制。",
        "network_retry": "重新上传",
        "usedup_h": "次数已用完",
        "usedup_p": "本次核身的尝试次数已用完。",
        "invalid_h": "链接无效",
        "invalid_p": "该核身链接不存在。请返回商户页面重新发起。",
        "bound_h": "请在本人微信中打开",
        "bound_p": "该核身链接属于另一位微信用户，或需要在微信中打开。",
        "ended_h": "核身已结束",
        "ended_p": "本次核身已结束。",
        "oauth_h": "微信授权未完成",
        "oauth_p": "授权信息已失效，请重新打开链接。",
        "reopen": "重新打开",
        "too_large": "视频太大，请重新录制一段较短的视频。",
        "upload_refused": "视频无法使用，请重新录制。",
        "generic_fail": "核身未通过，请重试。",
    },
    "en-US": {
        "title": "Face verification",
        "switch_lang": "中文",
        "loading": "Loading…",
        "consent_h": "Verify it's you",
        "consent_p": "We will open your front camera and record a few seconds of video to confirm that it "
        "is you. The video is used for this verification only.",
        "consent_agree": "I have read this and agree to use the camera for verification",
        "tips_h": "Before you start",
        "tip_light": "Find good light and face the screen",
        "tip_face": "Take off hats, masks and sunglasses",
        "tip_alone": "Make sure you are alone in the picture",
        "mode_silent": "Face the camera and blink naturally while about 3 seconds are recorded.",
        "mode_action": "Do the actions shown, in order.",
        "mode_digit": "Read the digits on the screen out loud.",
        "mode_light": "The screen will change colour while recording; keep your face close to it.",
        "mode_flash": "The screen will flash colours while recording; blink first, then hold still.",
        "brightness": "Turn your screen brightness all the way up.",
        "photosensitive_h": "Photosensitivity warning",
        "photosensitive_p": "This step changes the screen's colour quickly. If flashing light affects you, turn "
        "on gentle mode (colours fade, no flashing), or ask the merchant for another way to verify.",
        "photosensitive_soft": "Gentle mode (no flashing)",
        "start": "Start",
        "attempts_left": "Attempts left: {n}",
        "card_front_h": "Photograph your ID card: photo side",
        "card_back_h": "Photograph your ID card: emblem side",
        "card_front_p": "Lay your ID card flat with its photo side up, in good light, fill the frame with it "
        "and take the picture.",
        "card_back_p": "Turn the card over to the emblem side (issuing authority, validity) and photograph it "
        "the same way.",
        "card_note": "The card's pictures are used for this verification only, stored encrypted and deleted "
        "when they expire.",
        "card_take": "Take or choose a photo",
        "card_retake": "Take it again",
        "card_reading": "Reading the card…",
        "card_next_back": "Next: the emblem side",
        "card_next_face": "This is right; next: face check",
        "card_name": "Name",
        "card_id": "ID number",
        "card_authority": "Issuing authority",
        "card_valid": "Valid",
        "card_check": "Check what was read; if anything is wrong, take the picture again.",
        "card_unreadable": "The card could not be read. Lay it flat, avoid glare, fill the frame with it and "
        "take the picture again.",
        "card_bad_number": "The ID number read is not valid. Please take a sharper picture.",
        "card_wrong_side": "That is the other side of the card. Please photograph the side asked for.",
        "card_mismatch": "This card is not the one this verification is for. Please use your own card.",
        "card_too_large": "The picture is too large. Please take it again.",
        "card_busy": "The service is busy. Please try again in a moment.",
        "card_network": "The connection was lost and the picture was not sent. Please try again.",
        "card_identity_failed": "The identity on the card could not be verified.",
        "camera_h": "Place your face inside the oval",
        "record": "Start recording",
        "recording": "Recording…",
        "challenge_action": "In order:",
        "challenge_digit": "Read out:",
        "hint_ok": "Good, hold it there",
        "hint_no_face": "No face found",
        "hint_far": "Move closer",
        "hint_close": "Move back a little",
        "hint_dark": "Too dark",
        "hint_still": "Hold still",
        "act_blink": "Blink",
        "act_open_mouth": "Open your mouth",
        "act_nod": "Nod",
        "act_shake": "Shake your head",
        "uploading": "Uploading…",
        "waiting": "Checking, one moment…",
        "waiting_slow": "This is taking a while. Please keep this page open.",
        "pass_h": "Verified",
        "pass_p": "Taking you back to the merchant…",
        "back": "Back to the merchant",
        "close_p": "You can close this page.",
        "retry_h": "Not verified",
        "retry": "Try again",
        "fail_h": "Verification failed",
        "denied_h": "Camera blocked",
        "denied_p": "Camera access was denied. Allow this page to use the camera in your browser or WeChat "
        "settings, then try again.",
        "denied_retry": "Ask again",
        "unsupported_h": "Recording in the page isn't supported",
        "unsupported_p": "Tap the button below to record a video with your front camera and upload it.",
        "unsupported_pick": "Record a video and upload",
        "expired_h": "Link expired",
        "expired_p": "This verification has expired. Go back to the merchant and start again.",
        "network_h": "Connection lost",
        "network_p": "The upload failed, but your recording is kept. Check your connection and upload it "
        "again; no need to record again.",
        "network_retry": "Upload again",
        "usedup_h": "No attempts left",
        "usedup_p": "All attempts for this verification have been used.",
        "invalid_h": "Link not valid",
        "invalid_p": "This verification link is not valid. Go back to the merchant and start again.",
        "bound_h": "Open it in your own WeChat",
        "bound_p": "This verification belongs to another WeChat user, or must be opened in WeChat.",
        "ended_h": "Verification finished",
        "ended_p": "This verification has already finished.",
        "oauth_h": "WeChat sign-in not finished",
        "oauth_p": "The sign-in has expired. Please open the link again.",
        "reopen": "Open again",
        "too_large": "The video is too large. Please record a shorter one.",
        "upload_refused": "The video could not be used. Please record again.",
        "generic_fail": "Verification did not succeed. Please try again.",
    },
}

# The device API's user-facing outcome messages are English; the page shows them in Chinese too.
OUTCOMES_ZH: dict[str, str] = {
    "passed": "通过",
    "Please record yourself live, not a photo or a screen.": "请本人实时录制，不要使用照片或屏幕。",
    "Please record yourself live, not a photo or a screen, and blink naturally.": (
        "请本人实时录制，不要使用照片或屏幕，并自然眨眼。"
    ),
    "We could not see your face clearly. Face the camera in good light.": "未能看清您的面部，请在光线充足处正对镜头。",
    "The video could not be read. Please record again.": "视频无法读取，请重新录制。",
    "The video is too long or too short. Record a few seconds.": "视频过长或过短，请录制几秒钟。",
    "The video is too short. Record for more than 2 seconds.": "视频太短，请录制 2 秒以上。",
    "We could not find a clear frame of your face. Please try again.": "未找到清晰的人脸画面，请重试。",
    "More than one face was seen. Make sure you are alone in the picture.": "画面中出现多张人脸，请确保只有您一人。",
    "The face did not match. Please try again.": "人脸比对未通过，请重试。",
    "Verification did not succeed. Please try again.": "核身未通过，请重试。",
    "Something went wrong on our side. Please try again.": "系统繁忙，请重试。",
}


def outcome_texts(lang: str) -> dict[str, str]:
    """English outcome message -> the text to show in ``lang``."""
    if lang == "zh-CN":
        return dict(OUTCOMES_ZH)
    return {m: m for m in (*USER_OUTCOMES.values(), *OUTCOMES_ZH)}


def pick_lang(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """An explicit switch (query, then its cookie) wins; else the first supported Accept-Language."""
    for explicit in (query, cookie):
        if explicit in LANGS:
            return explicit
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, index, tag.strip().lower()))
    for neg_q, _, tag in sorted(ranked):
        if neg_q < 0 and tag.startswith("zh"):
            return "zh-CN"
        if neg_q < 0 and tag.startswith("en"):
            return "en-US"
    return DEFAULT_LANG
