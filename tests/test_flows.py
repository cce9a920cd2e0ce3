"""The flow's rules, driven through the device API and the service layer in-process with real models."""

from __future__ import annotations

import base64
import io
import json
import logging
import stat

import numpy as np
import pytest
from sqlalchemy import func, select, text

from tests.support import cards
from tests.support import flows as drive
from tests.support.media import encode_video
from wxflow.db.models import Attempt, Challenge, Flow, WebhookOutbox
from wxflow.services import flows, retention, verification


def outbox_count(ctx, token):
    with ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(WebhookOutbox).where(WebhookOutbox.biz_token == token))


def judge_latest(ctx, token):
    with ctx.db.session() as s:
        attempt_id = s.scalar(select(Attempt.id).where(Attempt.biz_token == token).order_by(Attempt.seq.desc()))
    return verification.judge_attempt(ctx, attempt_id)


def test_device_sees_state_challenge_and_expiry(client, ctx, merchant, make_rule):
    rule_id = make_rule(liveness="action", max_attempts=3)
    token = drive.start(ctx, merchant.id, rule_id)
    view = client.get(f"/api/v1/flows/{token}").get_json()
    assert view["state"] == "created" and view["liveness_mode"] == "action" and view["attempts_left"] == 3
    challenge = view["challenge"]
    assert challenge["kind"] == "action" and sorted(challenge["actions"]) == [1, 2]
    assert challenge["sequence"] == ",".join(map(str, challenge["actions"]))
    # The same challenge is shown until it is answered.
    assert client.get(f"/api/v1/flows/{token}").get_json()["challenge"]["id"] == challenge["id"]
    # Challenges come from a CSPRNG: over many flows both orders appear.
    orders = {
        client.get(f"/api/v1/flows/{drive.start(ctx, merchant.id, rule_id)}").get_json()["challenge"]["sequence"]
        for _ in range(16)
    }
    assert orders == {"1,2", "2,1"}


def test_unknown_token_uses_the_smorest_error_shape(client):
    resp = client.get("/api/v1/flows/CE661F1A-0F1E-45BD-BE13-34C05CEA7681")
    assert resp.status_code == 404
    body = resp.get_json()
    assert body["code"] == 404 and body["status"] == "Not Found" and body["message"]
    assert body["error_code"] == "InvalidParameterValue.BizTokenIllegal"
    assert client.get("/api/v1/flows/not-a-token").status_code == 404


def test_bad_uploads_get_4xx_and_change_nothing(client, ctx, merchant, make_rule):
    token = drive.start(ctx, merchant.id, make_rule())
    challenge_id = client.get(f"/api/v1/flows/{token}").get_json()["challenge"]["id"]
    frame = np.full((240, 320, 3), 128, np.uint8)
    cases = [
        (drive.upload(client, token, b"\x00garbage" * 100, challenge_id), 400, "FailedOperation.VideoDecodeFailed"),
        (drive.upload(client, token, b"", challenge_id), 400, "InvalidParameter"),
        (
            drive.upload(client, token, encode_video([frame] * 22, fps=1), challenge_id),
            413,
            "FailedOperation.VideoDurationExceeded",
        ),
        (
            drive.upload(client, token, b"\x00" * (8 * 1024 * 1024 + 1), challenge_id),
            413,
            "FailedOperation.VideoDurationExceeded",
        ),
        (drive.upload(client, token, drive.real_clip(1.0), "not-a-challenge"), 400, "InvalidParameterValue"),
    ]
    for resp, status, code in cases:
        assert resp.status_code == status, resp.get_json()
        assert resp.get_json()["error_code"] == code
    missing = client.post(
        f"/api/v1/flows/{token}/attempts", data={"challenge_id": challenge_id}, content_type="multipart/form-data"
    )
    assert missing.status_code == 422 and "video" in json.dumps(missing.get_json())
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Attempt).where(Attempt.biz_token == token)) == 0
        assert s.get(Challenge, challenge_id).consumed_at is None
        assert s.get(Flow, token).state == "created"


def test_a_challenge_is_consumed_once(client, ctx, merchant, make_rule):
    token = drive.start(ctx, merchant.id, make_rule(max_attempts=3))
    first = client.get(f"/api/v1/flows/{token}").get_json()["challenge"]["id"]
    video = drive.printed_photo_attack(2.5)
    assert drive.upload(client, token, video, first).status_code == 202
    # While it is judged, neither the used challenge nor a second upload is accepted.
    assert drive.upload(client, token, video, first).status_code == 409
    judge_latest(ctx, token)
    reused = drive.upload(client, token, video, first)
    assert reused.status_code == 409 and reused.get_json()["error_code"] == "InvalidParameterValue.ChallengeUsed"
    second = client.get(f"/api/v1/flows/{token}").get_json()["challenge"]["id"]
    assert second != first
    assert drive.upload(client, token, video, second).status_code == 202


@pytest.mark.slow
def test_attempt_cap_ends_the_flow(client, ctx, merchant, make_rule):
    rule_id = make_rule(max_attempts=2, callback_url="http://127.0.0.1:9/hook")
    token = drive.start(ctx, merchant.id, rule_id, redirect_url="https://merchant.example/done?order=7")
    attack = drive.printed_photo_attack(2.5)
    for n in (1, 2):
        resp = drive.upload(client, token, attack)
        assert resp.status_code == 202
        attempt_id = resp.get_json()["attempt_id"]
        judge_latest(ctx, token)
        view = client.get(f"/api/v1/flows/{token}/attempts/{attempt_id}").get_json()
        assert view["state"] == "done" and view["outcome"]["passed"] is False
        assert "score" not in json.dumps(view).lower()
        assert view["attempts_left"] == 2 - n
    assert view["flow_state"] == "failed"
    assert view["redirect_url"] == f"https://merchant.example/done?order=7&token={token}"
    assert client.get(f"/api/v1/flows/{token}").get_json()["challenge"] is None
    refused = drive.upload(client, token, attack, "whatever")
    assert refused.status_code == 409
    info = flows.detect_info(ctx, merchant.id, flows.DetectInfoRequest(token, rule_id))
    assert info["Text"]["ErrCode"] == 1301 and info["Text"]["LiveStatus"] == 1301
    assert [d["Errcode"] for d in info["Text"]["LivenessDetail"]] == [1301, 1301]
    assert "03" in info["Text"]["LivenessInfoTag"]
    assert outbox_count(ctx, token) == 1


def test_biztoken_expires_after_its_ttl(client, ctx, clock, merchant, make_rule):
    rule_id = make_rule(callback_url="http://127.0.0.1:9/hook")
    token = drive.start(ctx, merchant.id, rule_id)
    clock.advance(7199)
    assert client.get(f"/api/v1/flows/{token}").get_json()["state"] == "created"
    clock.advance(2)
    view = client.get(f"/api/v1/flows/{token}").get_json()
    assert view["state"] == "expired" and view["challenge"] is None
    resp = drive.upload(client, token, drive.real_clip(1.0), "x")
    assert resp.status_code == 410 and resp.get_json()["error_code"] == "InvalidParameterValue.BizTokenExpired"
    info = flows.detect_info(ctx, merchant.id, flows.DetectInfoRequest(token, rule_id))
    assert info["Text"]["ErrCode"] == 15
    # The end is written once: later reads and sweeps add no second webhook.
    retention.expire_due(ctx)
    client.get(f"/api/v1/flows/{token}")
    assert outbox_count(ctx, token) == 1


def test_sweep_expires_flows_nobody_looks_at(ctx, clock, merchant, make_rule):
    token = drive.start(ctx, merchant.id, make_rule())
    clock.advance(7201)
    assert retention.expire_due(ctx) >= 1
    with ctx.db.session() as s:
        assert s.get(Flow, token).state == "expired"


@pytest.mark.slow
def test_retention_purge_deletes_biometrics_and_keeps_an_audit_row(client, ctx, clock, merchant, make_rule):
    rule_id = make_rule(compare="photo", max_attempts=1)
    token = drive.start(
        ctx,
        merchant.id,
        rule_id,
        image_base64=drive.same_person_photo_b64(),
        id_card="370782198709170246",
        name="小静",
        extra="order-9",
    )
    assert drive.upload(client, token, drive.real_clip(3.0)).status_code == 202
    judge_latest(ctx, token)
    with ctx.db.session() as s:
        flow = s.get(Flow, token)
        attempt = s.scalar(select(Attempt).where(Attempt.biz_token == token))
        media = [flow.reference_media, attempt.video_media, *attempt.best_frame_media]
    assert all(ctx.media.exists(m) for m in media) and len(media) >= 3
    req = flows.DetectInfoRequest(token, rule_id)
    assert flows.detect_info(ctx, merchant.id, req)["Text"]["IdCard"] == "370782198709170246"

    clock.advance(3 * 86400 - 60)
    retention.purge_due(ctx)
    assert flows.detect_info(ctx, merchant.id, req)["Text"]["ErrCode"] is not None  # still readable
    clock.advance(120)
    with pytest.raises(flows.ServiceError):  # expired at once, before any sweep ran
        flows.detect_info(ctx, merchant.id, req)
    assert retention.purge_due(ctx) >= 1
    assert not any(ctx.media.exists(m) for m in media)
    with pytest.raises(flows.ServiceError) as info:
        flows.detect_info(ctx, merchant.id, req)
    assert info.value.code == "InvalidParameterValue.BizTokenExpired"
    with ctx.db.session() as s:
        flow = s.get(Flow, token)
        assert flow.purged_at is not None and flow.state in ("passed", "failed") and flow.err_code is not None
        assert flow.identity_sealed is None and flow.reference_embedding_sealed is None and flow.extra is None


def test_secrets_and_identity_are_not_readable_from_a_database_dump(ctx, merchant, make_rule, backend):
    token = drive.start(ctx, merchant.id, make_rule(), id_card="370782198709170246", name="小静")
    dump = []
    with ctx.db.engine.connect() as conn:
        for table in ("merchants", "rules", "flows"):
            dump.extend(str(row) for row in conn.execute(text(f"SELECT * FROM {table}")))
    dump_text = "\n".join(dump)
    assert token in dump_text  # the dump is real...
    for secret in (merchant.SecretKey, merchant.WebhookSecret, "370782198709170246", "小静"):
        assert secret not in dump_text  # ...but holds no secret or identity in the clear
    key_file = backend.var_dir / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_logs_mask_id_numbers_and_names(ctx, merchant, make_rule, caplog):
    caplog.set_level(logging.INFO)
    drive.start(ctx, merchant.id, make_rule(), id_card="370782198709170246", name="小静")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "flow created" in logged and "3707" in logged
    assert "370782198709170246" not in logged and "小静" not in logged


def test_stored_media_is_encrypted(ctx):
    payload = b"\xff\xd8 a face, in JPEG" * 10
    media_id = ctx.media.put(payload)
    raw = next(ctx.config.media_dir.rglob(f"{media_id}.bin")).read_bytes()
    assert payload[:16] not in raw and ctx.media.get(media_id) == payload
    assert base64.b64encode(payload)[:16] not in raw


def _flow_with_sequence(client, ctx, merchant_id, rule_id, sequence):
    """Start flows until the CSPRNG issues ``sequence`` (each order comes up half the time)."""
    for _ in range(40):
        token = drive.start(ctx, merchant_id, rule_id)
        challenge = client.get(f"/api/v1/flows/{token}").get_json()["challenge"]
        if challenge["sequence"] == sequence:
            return token, challenge["id"]
    raise AssertionError(f"sequence {sequence} was never issued")


@pytest.mark.slow
def test_action_mode_judges_the_issued_sequence(client, ctx, merchant, make_rule):
    from tests.support.data import data_path
    from tests.support.media import clip_bytes

    rule_id = make_rule(liveness="action", max_attempts=1)
    # d18: the mouth opens wide (2.2-3.1 s), then a blink (3.1 s): "1,2" in that order.
    clip = clip_bytes(data_path("videos", "liveportrait", "d18.mp4"), 0.0, 4.0)

    token, challenge_id = _flow_with_sequence(client, ctx, merchant.id, rule_id, "1,2")
    assert drive.upload(client, token, clip, challenge_id).status_code == 202
    judge_latest(ctx, token)
    info = flows.detect_info(ctx, merchant.id, flows.DetectInfoRequest(token, rule_id))["Text"]
    assert info["ErrCode"] == 0 and info["LivenessMode"] == 2 and info["LivenessActionSequence"] == "1,2"

    token, challenge_id = _flow_with_sequence(client, ctx, merchant.id, rule_id, "2,1")
    assert drive.upload(client, token, clip, challenge_id).status_code == 202
    judge_latest(ctx, token)
    info = flows.detect_info(ctx, merchant.id, flows.DetectInfoRequest(token, rule_id))["Text"]
    assert info["ErrCode"] == 1002 and info["LiveStatus"] == 1002 and "02" in info["LivenessInfoTag"]
    with ctx.db.session() as s:
        attempt = s.scalar(select(Attempt).where(Attempt.biz_token == token))
        assert attempt.result == "FailedOperation.ActionFirstAction"


def test_a_crash_is_a_system_error_never_a_spoof(client, ctx, merchant, make_rule):
    from rq import SimpleWorker
    from rq.job import Job

    from wxflow.jobs import attempts as attempt_jobs
    from wxflow.jobs import runtime

    token = drive.start(ctx, merchant.id, make_rule(max_attempts=2))
    resp = drive.upload(client, token, drive.real_clip(2.5))
    attempt_id = resp.get_json()["attempt_id"]
    with ctx.db.session() as s:
        ctx.media.delete(s.get(Attempt, attempt_id).video_media)  # storage lost: judging will crash
    runtime.install(ctx)

    # Through RQ with a retry left: the job fails, is scheduled again, and the attempt waits for it.
    SimpleWorker([ctx.queue.judging], connection=ctx.queue.connection, serializer=ctx.queue.judging.serializer).work(
        burst=True
    )
    job = Job.fetch(f"judge-{attempt_id}", connection=ctx.queue.connection, serializer=ctx.queue.judging.serializer)
    assert job.get_status() == "scheduled" and job.retries_left == 0
    with ctx.db.session() as s:
        assert s.get(Attempt, attempt_id).state == "queued"

    # The last try crashes too: a system error is recorded, the try is not counted, nothing says "spoof".
    with pytest.raises(FileNotFoundError):
        attempt_jobs.judge_attempt(attempt_id)
    view = client.get(f"/api/v1/flows/{token}/attempts/{attempt_id}").get_json()
    assert view["state"] == "failed" and view["outcome"]["passed"] is False
    assert "our side" in view["outcome"]["message"] and view["attempts_left"] == 2
    with ctx.db.session() as s:
        attempt = s.get(Attempt, attempt_id)
        assert attempt.err_code == 4 and attempt.live_status is None and attempt.error
        assert s.get(Flow, token).state == "in_progress"
    assert client.get(f"/api/v1/flows/{token}").get_json()["challenge"] is not None


def test_a_flow_bound_to_a_wechat_user_serves_only_that_device(client, ctx, merchant, make_rule):
    from wxflow.services import binding

    token = drive.start(ctx, merchant.id, make_rule())
    assert client.get(f"/api/v1/flows/{token}").status_code == 200  # unbound: any device
    key = binding.bind_user(ctx, token, "o-alice", "oauth")
    assert binding.bind_user(ctx, token, "o-alice", "oauth") == key  # idempotent (WeChat may call twice)
    with pytest.raises(binding.BoundToAnotherUser):
        binding.bind_user(ctx, token, "o-mallory", "oauth")

    refused = client.get(f"/api/v1/flows/{token}")
    assert refused.status_code == 403 and refused.get_json()["error_code"] == "FailedOperation.FlowBoundToAnotherUser"
    assert client.get(f"/api/v1/flows/{token}", headers={"X-Wxflow-Device": "0" * 64}).status_code == 403
    view = client.get(f"/api/v1/flows/{token}", headers={"X-Wxflow-Device": key})
    assert view.status_code == 200
    client.set_cookie("wxflow_device", key)
    challenge = client.get(f"/api/v1/flows/{token}").get_json()["challenge"]["id"]
    assert drive.upload(client, token, drive.real_clip(2.5), challenge).status_code == 202
    with ctx.db.session() as s:
        flow = s.get(Flow, token)
        assert flow.bound_via == "oauth" and "o-alice" not in (flow.openid_sealed or "")


def test_racing_uploads_of_one_challenge_get_one_attempt_and_no_500(app, ctx, merchant, make_rule):
    import threading

    import requests as http

    from tests.support.servers import LiveServer

    token = drive.start(ctx, merchant.id, make_rule(max_attempts=3))
    video = drive.real_clip(2.5)
    with LiveServer(app) as live:
        challenge = http.get(f"{live.url}/api/v1/flows/{token}", timeout=10).json()["challenge"]["id"]
        barrier, statuses = threading.Barrier(4), []

        def upload() -> None:
            barrier.wait()
            resp = http.post(
                f"{live.url}/api/v1/flows/{token}/attempts",
                data={"challenge_id": challenge},
                files={"video": ("v.mp4", video, "video/mp4")},
                timeout=60,
            )
            statuses.append(resp.status_code)

        threads = [threading.Thread(target=upload) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(statuses) == [202, 409, 409, 409]
    with ctx.db.session() as s:
        attempts = s.scalars(select(Attempt).where(Attempt.biz_token == token)).all()
    assert len(attempts) == 1
    stored = {p.stem for p in ctx.config.media_dir.rglob("*.bin")}
    assert attempts[0].video_media in stored  # the losers' uploads were not left behind


# --- the ID-card OCR step (rules with --id-card-ocr) ------------------------------------------------
# The portrait side is the real specimen in the shared data, read in place; the back side is rendered
# with PIL and WenQuanYi Micro Hei (tests/support/cards.py): no back-side specimen exists.


def put_card(client, token, side, image, **headers):
    data = {"image": (io.BytesIO(image), f"{side}.jpg", "image/jpeg")}
    return client.post(
        f"/api/v1/flows/{token}/id-card/{side}", data=data, content_type="multipart/form-data", headers=headers
    )


def _ocr_rule_and_flow(ctx, merchant, make_rule, **fields):
    rule_id = make_rule(id_card_ocr=True, max_attempts=2)
    return rule_id, drive.start(ctx, merchant.id, rule_id, **fields)


@pytest.mark.slow
def test_ocr_rule_reads_both_card_sides_before_the_selfie(client, ctx, merchant, make_rule, caplog):
    caplog.set_level(logging.INFO)
    rule_id, token = _ocr_rule_and_flow(ctx, merchant, make_rule)
    view = client.get(f"/api/v1/flows/{token}").get_json()
    assert view["id_card"] == {"required": True, "front": False, "back": False, "done": False}
    refused = drive.upload(client, token, drive.real_clip(2.5))
    assert refused.status_code == 409 and refused.get_json()["error_code"] == "FailedOperation.IdCardRequired"

    front = put_card(client, token, "front", cards.specimen_bytes(cards.XIAOJING_FRONT))
    assert front.status_code == 200, front.get_json()
    body = front.get_json()
    assert (body["name"], body["id_card"], body["gender"], body["birth"]) == (
        "小静", "370782198709170246", "女", "1987/9/17",
    )  # fmt: skip
    assert body["address"] == cards.XIAOJING_ADDRESS and body["id_card_step"]["done"] is False
    back = put_card(client, token, "back", cards.rendered_back_jpeg(rotation=180))
    assert back.status_code == 200, back.get_json()
    assert back.get_json()["authority"] == cards.BACK_AUTHORITY
    assert back.get_json()["valid_date"] == cards.BACK_VALIDITY and back.get_json()["id_card_step"]["done"]
    view = client.get(f"/api/v1/flows/{token}").get_json()
    assert view["id_card"]["done"] and view["attempts_left"] == 2 and view["state"] == "created"
    assert "370782198709170246" not in json.dumps(view)  # the flow view never reads the card back

    # Until the flow ends, nothing read from the card is in the merchant's result.
    info = flows.detect_info(ctx, merchant.id, flows.DetectInfoRequest(token, rule_id))
    assert info["Text"]["OcrIdCard"] is None and info["Text"]["IdCard"] is None and info["IdCardData"] is None
    # The card's images are sealed in the media store like the face media.
    with ctx.db.session() as s:
        stored = s.get(Flow, token).card_media
    assert set(stored) == {"front", "back", "front_processed", "back_processed", "avatar"}
    raw = next(ctx.config.media_dir.rglob(f"{stored['front']}.bin")).read_bytes()
    assert b"JFIF" not in raw and ctx.media.get(stored["front"])[:2] == b"\xff\xd8"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "id card front read" in logged and "370782198709170246" not in logged and "小静" not in logged


@pytest.mark.slow
def test_unusable_cards_are_refused_for_a_retake_and_cost_no_attempt(client, ctx, merchant, make_rule):
    rule_id, token = _ocr_rule_and_flow(ctx, merchant, make_rule)
    media_before = set(ctx.config.media_dir.rglob("*.bin"))
    cases = [
        # 代用名's number fails the GB 11643 check digit: a misread or a fake, never accepted.
        (cards.specimen_bytes(cards.DAIYONGMING_FRONT), "front", 400, "FailedOperation.IdFormatError"),
        (cards.blank_jpeg(), "front", 400, "FailedOperation.OcrFailed"),
        (cards.blank_jpeg(), "back", 400, "FailedOperation.OcrFailed"),
        (cards.rendered_back_jpeg(), "front", 400, "FailedOperation.IdCardWrongSide"),
        (b"not an image at all", "front", 400, "FailedOperation.ImageDecodeFailed"),
        (cards.blank_jpeg(), "side", 404, "InvalidParameterValue"),
    ]
    for image, side, status, code in cases:
        resp = put_card(client, token, side, image)
        assert resp.status_code == status, (code, resp.get_json())
        assert resp.get_json()["error_code"] == code and resp.get_json()["message"]
    assert "check digit" in put_card(client, token, "front", cards.specimen_bytes(cards.DAIYONGMING_FRONT)).text
    view = client.get(f"/api/v1/flows/{token}").get_json()
    assert view["attempts_left"] == 2 and view["state"] == "created" and view["id_card"]["front"] is False
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Attempt).where(Attempt.biz_token == token)) == 0
        assert s.get(Flow, token).card_media is None
    assert set(ctx.config.media_dir.rglob("*.bin")) == media_before  # refused pictures are not kept

    # A rule without the step refuses card uploads; a card naming another person than DetectAuth is refused.
    plain = drive.start(ctx, merchant.id, make_rule())
    assert client.get(f"/api/v1/flows/{plain}").get_json()["id_card"]["required"] is False
    off = put_card(client, plain, "front", cards.specimen_bytes(cards.XIAOJING_FRONT))
    assert off.status_code == 409 and off.get_json()["error_code"] == "UnsupportedOperation.IdCardStepOff"
    other = drive.start(ctx, merchant.id, rule_id, id_card="430512198908131366", name="代用名")
    mismatch = put_card(client, other, "front", cards.specimen_bytes(cards.XIAOJING_FRONT))
    assert mismatch.status_code == 400 and mismatch.get_json()["error_code"] == "FailedOperation.IdCardMismatch"


def test_back_side_validity_warnings():
    from datetime import date

    from wxflow.vision.idcard import WARN_EXPIRED, WARN_VALIDITY, validity_warnings

    today = date(2026, 12, 5)
    assert validity_warnings("2015.01.01-2035.01.01", today) == []
    assert validity_warnings("2010.05.06-长期", today) == []
    assert validity_warnings("2012.02.29-2032.02.29", today) == []
    assert validity_warnings("2016.02.29-2026.02.28", date(2026, 1, 1)) == []
    assert validity_warnings("2005.03.01-2015.03.01", today) == [WARN_EXPIRED]
    for bad in ("", "2015.01.01-2035.01.02", "2015.01.01-2022.01.01", "2015.02.30-2035.02.30", "2030.01.01-长期"):
        assert validity_warnings(bad, today) == [WARN_VALIDITY], bad
    assert validity_warnings("2030.01.01-长期") == []  # without a date only the form is judged


@pytest.mark.slow
def test_rendered_back_sides_are_read_in_any_orientation_with_honest_warnings():
    """Rendered back sides (PIL + WenQuanYi Micro Hei; no specimen exists), in the four orientations."""
    from datetime import date

    from wxflow.vision.idcard import WARN_BORDER, WARN_EXPIRED, read_card

    today = date(2026, 12, 5)
    for rotation in (0, 90, 180, 270):
        reading = read_card(cards.rendered_back(rotation=rotation), today=today)
        assert (reading.side, reading.authority, reading.valid_date) == (
            "back", cards.BACK_AUTHORITY, cards.BACK_VALIDITY,
        ), rotation  # fmt: skip
        assert reading.border_found and reading.warnings == [] and reading.processed
    expired = read_card(cards.rendered_back(validity="2005.03.01-2015.03.01"), today=today)
    assert expired.valid_date == "2005.03.01-2015.03.01" and expired.warnings == [WARN_EXPIRED]
    lifelong = read_card(cards.rendered_back(validity="2010.05.06-长期"), today=today)
    assert lifelong.valid_date == "2010.05.06-长期" and lifelong.warnings == []
    cropped = read_card(cards.rendered_back(on_table=False), today=today)  # no card edge inside the frame
    assert cropped.side == "back" and cropped.warnings == [WARN_BORDER]


def _register_person(ctx, tmp_path, id_card, name, photo_b64):
    """The local authority holds this identity with this photo (temporary files only)."""
    from wxflow.services import authority

    photos = tmp_path / "photos"
    photos.mkdir(exist_ok=True)
    (photos / "p.jpg").write_bytes(base64.b64decode(photo_b64))
    ids = tmp_path / "ids.csv"
    ids.write_text(f"id_card,name,photo\n{id_card},{name},p.jpg\n", encoding="utf-8")
    assert authority.import_csv(ctx, ids, photos).errors == []


@pytest.mark.slow
def test_ocr_flow_through_the_sdk_and_the_worker_then_retention(app, ctx, clock, worker, merchant, make_rule, tmp_path):
    """DetectAuth without IdCard/Name: the card is read, its identity is compared against the authority.

    The authority's photo of the card's person is a frame of the selfie clip's speaker, so the face
    step passes only if the OCR'd identity found that record.
    """
    import requests as http

    from tests.support import sdk
    from tests.support.servers import LiveServer, wait_until

    person = cards.XIAOJING
    _register_person(ctx, tmp_path, person["id_card"], person["name"], drive.same_person_photo_b64())
    rule_id = make_rule(id_card_ocr=True, compare="authority", max_attempts=1)
    with LiveServer(app) as live:
        api = sdk.client(merchant.SecretId, merchant.SecretKey, live.host_port)
        auth = api.DetectAuth(sdk.request("DetectAuthRequest", RuleId=rule_id, Extra="order-ocr"))
        device = f"{live.url}/api/v1/flows/{auth.BizToken}"
        for side, image in (
            ("front", cards.specimen_bytes(cards.XIAOJING_FRONT)),
            ("back", cards.rendered_back_jpeg(rotation=90)),
        ):
            resp = http.post(f"{device}/id-card/{side}", files={"image": (f"{side}.jpg", image)}, timeout=60)
            assert resp.status_code == 200, resp.text
        challenge = http.get(device, timeout=10).json()["challenge"]
        resp = http.post(
            f"{device}/attempts",
            data={"challenge_id": challenge["id"]},
            files={"video": ("clip.mp4", drive.real_clip(3.0), "video/mp4")},
            timeout=30,
        )
        assert resp.status_code == 202, resp.text
        attempt = f"{device}/attempts/{resp.json()['attempt_id']}"
        assert wait_until(lambda: http.get(attempt, timeout=10).json()["state"] == "done", timeout=120), (
            worker.log_text()[-3000:]
        )
        info = api.GetDetectInfoEnhanced(
            sdk.request("GetDetectInfoEnhancedRequest", BizToken=auth.BizToken, RuleId=rule_id)
        )
        text = info.Text
        assert text.ErrCode == 0 and text.Comparestatus == 0 and float(text.Sim) >= 70, worker.log_text()[-2000:]
        assert (text.IdCard, text.Name, text.IdInfoFrom, text.CompareLibType) == (
            person["id_card"], person["name"], "OCR", "权威库",
        )  # fmt: skip
        assert (text.OcrIdCard, text.OcrName, text.OcrGender, text.OcrNation, text.OcrBirth) == (
            person["id_card"], person["name"], person["gender"], person["nation"], person["birth"],
        )  # fmt: skip
        assert text.OcrAddress == cards.XIAOJING_ADDRESS
        assert (text.OcrAuthority, text.OcrValidDate) == (cards.BACK_AUTHORITY, cards.BACK_VALIDITY)
        card = info.IdCardData
        assert base64.b64decode(card.OcrFront)[:2] == b"\xff\xd8" and base64.b64decode(card.OcrBack)[:2] == b"\xff\xd8"
        assert card.ProcessedFrontImage is None and card.Avatar is None  # only when asked for
        assert card.WarnInfos == [-9101] and card.BackWarnInfos == []  # the specimen is cropped at its edge
        only_text = api.GetDetectInfoEnhanced(
            sdk.request("GetDetectInfoEnhancedRequest", BizToken=auth.BizToken, RuleId=rule_id, InfoType="1")
        )
        assert only_text.IdCardData is None and only_text.Text.OcrName == person["name"]
        legacy = json.loads(
            api.GetDetectInfo(sdk.request("GetDetectInfoRequest", BizToken=auth.BizToken, RuleId=rule_id)).DetectInfo
        )
        assert set(legacy["IdCardData"]) == {"OcrFront", "OcrBack"} and legacy["Text"]["IdInfoFrom"] == "OCR"

    # IsCutIdCardImage / IsNeedIdCardAvatar add the deskewed cards and the portrait crop.
    cut = flows.DetectInfoRequest(auth.BizToken, rule_id, "2", cut_id_card_image=True, need_id_card_avatar=True)
    data = flows.detect_info(ctx, merchant.id, cut)["IdCardData"]
    import cv2

    processed = cv2.imdecode(np.frombuffer(base64.b64decode(data["ProcessedBackImage"]), np.uint8), cv2.IMREAD_COLOR)
    assert processed.shape[:2] == (540, 856)  # found, deskewed and turned upright from 90 degrees
    assert data["ProcessedFrontImage"] and data["Avatar"]

    # Three days on, the card's pictures go with the face media.
    with ctx.db.session() as s:
        card_media = list(s.get(Flow, auth.BizToken).card_media.values())
    assert len(card_media) == 5 and all(ctx.media.exists(m) for m in card_media)
    clock.advance(3 * 86400 + 60)
    assert retention.purge_due(ctx) >= 1
    assert not any(ctx.media.exists(m) for m in card_media)
    with ctx.db.session() as s:
        flow = s.get(Flow, auth.BizToken)
        assert flow.card_media is None and flow.ocr_sealed is None and flow.purged_at is not None


@pytest.mark.slow
def test_merchant_identity_wins_over_the_card_and_an_authority_mismatch_ends_the_flow(
    client, ctx, merchant, make_rule, tmp_path
):
    person = cards.XIAOJING
    # Given in DetectAuth: the card must carry that number; the given identity is the one reported.
    rule_id = make_rule(id_card_ocr=True, compare="none", max_attempts=1)
    token = drive.start(ctx, merchant.id, rule_id, id_card=person["id_card"], name="小静静")
    assert put_card(client, token, "front", cards.specimen_bytes(cards.XIAOJING_FRONT)).status_code == 200
    assert put_card(client, token, "back", cards.rendered_back_jpeg()).status_code == 200
    assert drive.upload(client, token, drive.real_clip(3.0)).status_code == 202
    judge_latest(ctx, token)
    text = flows.detect_info(ctx, merchant.id, flows.DetectInfoRequest(token, rule_id, "1"))["Text"]
    assert (text["IdCard"], text["Name"], text["IdInfoFrom"]) == (person["id_card"], "小静静", "手动输入")
    assert (text["OcrIdCard"], text["OcrName"], text["OcrValidDate"]) == (
        person["id_card"], person["name"], cards.BACK_VALIDITY,
    )  # fmt: skip
    assert text["LivenessDetail"][0]["Name"] == "小静静"
    # Once the face step has begun the card cannot be swapped.
    locked = put_card(client, token, "front", cards.specimen_bytes(cards.XIAOJING_FRONT))
    assert locked.status_code == 409

    # No identity given; the registry knows the number under another name: the authority's answer ends the flow.
    from wxflow.services import authority

    ids = tmp_path / "ids.csv"
    ids.write_text(f"id_card,name\n{person['id_card']},小敬\n", encoding="utf-8")
    assert authority.import_csv(ctx, ids).errors == []
    rule_id = make_rule(id_card_ocr=True, compare="authority", max_attempts=1)
    token = drive.start(ctx, merchant.id, rule_id)
    resp = put_card(client, token, "front", cards.specimen_bytes(cards.XIAOJING_FRONT))
    assert resp.status_code == 409 and resp.get_json()["error_code"] == "FailedOperation.IdentityNotVerified"
    view = client.get(f"/api/v1/flows/{token}").get_json()
    assert view["state"] == "failed" and view["challenge"] is None
    text = flows.detect_info(ctx, merchant.id, flows.DetectInfoRequest(token, rule_id))["Text"]
    assert text["ErrCode"] == 2006 and text["Comparestatus"] == 2006
    assert text["IdInfoFrom"] == "OCR" and text["OcrIdCard"] == person["id_card"]
    # A rule without the card step still needs IdCard and Name for the authority compare.
    with pytest.raises(flows.ServiceError) as missing:
        drive.start(ctx, merchant.id, make_rule(compare="authority"))
    assert missing.value.code == "MissingParameter"


def test_cli_turns_the_id_card_step_on_and_off(app, merchant):
    runner = app.test_cli_runner()
    base = ["rule", "create", "--merchant", merchant.SecretId, "--liveness", "silent", "--compare", "none"]
    created = runner.invoke(args=[*base, "--redirect-prefix", "https://m.example/", "--id-card-ocr", "--json"])
    assert created.exit_code == 0, created.output
    rule_id = json.loads(created.output)["RuleId"]

    def listed() -> bool:
        rules = json.loads(runner.invoke(args=["rule", "list", "--merchant", merchant.SecretId, "--json"]).output)
        return next(r for r in rules if r["RuleId"] == rule_id)["IdCardOcr"]

    assert listed() is True
    off = runner.invoke(args=["rule", "update", rule_id, "--no-id-card-ocr", "--json"])
    assert off.exit_code == 0 and json.loads(off.output) == {"RuleId": rule_id, "IdCardOcr": False}
    assert listed() is False
    assert runner.invoke(args=["rule", "update", rule_id]).exit_code != 0  # nothing to change
    assert "no rule" in runner.invoke(args=["rule", "update", "1", "--id-card-ocr"]).output
