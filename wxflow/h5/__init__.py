"""The H5 entry page a BizToken's Url points at."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from wxflow.errors import ServiceError
from wxflow.services import flows

blueprint = Blueprint("h5", __name__, url_prefix="/h5", template_folder="templates")

MODE_INSTRUCTIONS = {
    "silent": (
        "请正对镜头，保持不动，录制 3 秒左右的视频。",
        "Face the camera and hold still while you record about 3 seconds.",
    ),
    "action": ("请正对镜头，按提示顺序完成动作。", "Face the camera and do the actions shown, in order."),
}


@blueprint.get("/verify")
def verify() -> tuple[str, int]:
    token = request.args.get("token", "")
    try:
        flow = flows.flow_for_device(current_app.extensions["wxflow"], token)
    except ServiceError:
        return render_template("verify.html", flow=None, token=token), 404
    zh, en = MODE_INSTRUCTIONS.get(flow["liveness_mode"], ("", ""))
    return render_template("verify.html", flow=flow, token=token, zh=zh, en=en), 200
