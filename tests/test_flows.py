"""The flow's rules, driven through the device API and the service layer in-process with real models."""

from __future__ import annotations

import base64
import json
import logging
import stat

import numpy as np
import pytest
from sqlalchemy import func, select, text

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
