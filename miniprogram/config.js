// The one file a merchant edits: where the wxflow server is, where to go at the end, timings and texts.
// No secrets belong here: the mini-program's appid secret stays on the wxflow server (the rule).
module.exports = {
  // Your wxflow server (HTTPS). Add it to both "request" and "uploadFile" legal domains in the
  // mini-program console (Development > Development settings > Server domain).
  serverUrl: 'https://faceid.example.com',

  // When the page was not opened from another mini-program, it ends with wx.redirectTo(this page),
  // adding ?token=<BizToken>&state=<passed|failed|expired>.
  donePage: '/pages/done/done',

  timings: {
    requestTimeoutMs: 15000,
    uploadTimeoutMs: 60000,
    pollIntervalMs: 1500,
    pollTimeoutMs: 120000,
    pollNetworkFailures: 3, // consecutive failed polls before the user is told
    silentRecordMs: 3500, // more than 2 s of face is needed
    digitRecordMs: 5000,
    actionLeadMs: 800, // time before the first action prompt
    actionStepMs: 2500, // time for each action prompt
    colourTailMs: 600, // recording kept after the last colour
    guidanceEveryMs: 500, // camera frames analysed at most this often
    autoReturnMs: 0, // > 0: return to the merchant automatically this long after a pass
  },

  texts: {
    title: '人脸核验',
    loading: '正在准备核验…',
    consentTitle: '核验说明',
    consentBody:
      '为确认是您本人操作，我们将使用摄像头和麦克风录制一段几秒钟的视频，仅用于本次身份核验，并按商户的数据保留期限删除。',
    consentPoints: ['请在光线充足的地方，正对手机', '不要戴帽子、口罩或墨镜', '确保画面中只有您一人'],
    agree: '同意并开始',
    decline: '不同意',
    declined: '您未同意录制视频，无法完成核验。',
    start: '开始录制',
    recording: '录制中，请保持正脸在框内',
    uploading: '正在上传视频',
    judging: '正在核验，请稍候…',
    passed: '核验通过',
    retry: '再试一次',
    reRecord: '重新录制',
    reUpload: '重新上传',
    keepWaiting: '继续等待',
    reload: '重新加载',
    openSettings: '去设置开启权限',
    returnToMerchant: '返回',
    doneHint: '如需重新核验，请返回商户页面重新发起。',
    attemptsLeft: '还可以尝试 {n} 次',
    silentPrompt: '请正对屏幕，保持面部在框内，自然眨眼',
    digitPrompt: '录制开始后，请用普通话读出以下数字',
    actionPrompt: '录制开始后，请按提示依次完成动作',
    actionNames: { open_mouth: '张张嘴', blink: '眨眨眼', nod: '点点头', shake: '摇摇头' },
    lightPrompt: '录制开始后，屏幕会闪烁几种颜色，请保持正脸靠近屏幕',
    flashPrompt: '录制开始后请先眨眨眼，随后屏幕会闪烁几种颜色，请保持不动',
    guidance: {
      noFace: '未检测到人脸，请正对摄像头',
      tooFar: '请靠近一点',
      tooClose: '请离远一点',
      offCentre: '请把脸移到画面中央',
      tooDark: '光线太暗，请到明亮处',
      tooBright: '光线太强，请避开强光',
      good: '很好，请保持',
    },
    // The ID-card step (rules with ID-card OCR): portrait side, then emblem side, then the face.
    card: {
      frontTitle: '拍摄身份证人像面',
      backTitle: '拍摄身份证国徽面',
      frontHint: '请将身份证人像面平放，光线充足，让卡片占满画面后拍照。',
      backHint: '请翻到国徽面（签发机关、有效期限），同样平放拍照。',
      privacy: '身份证照片仅用于本次核验，加密保存，到期删除。',
      check: '请核对识别结果，如有错误请重新拍摄。',
      take: '拍照或从相册选择',
      retake: '重新拍摄',
      reading: '正在识别…',
      nextBack: '下一步：拍摄国徽面',
      nextFace: '信息无误，下一步：人脸核验',
      name: '姓名',
      idNumber: '公民身份号码',
      authority: '签发机关',
      validDate: '有效期限',
      errors: {
        unreadable: '未能识别身份证，请平放卡片、避免反光，让卡片占满画面后重新拍摄。',
        badNumber: '识别出的身份证号码无效，请重新拍摄清晰的照片。',
        wrongSide: '拍到的是另一面，请按提示拍摄正确的一面。',
        mismatch: '这张身份证与本次核验的身份不符，请使用本人的身份证。',
        tooLarge: '照片太大，请重新拍摄。',
        busy: '服务繁忙，请稍后重试。',
        network: '网络连接失败，照片未上传，请重试。',
        identityFailed: '未能核实身份证上的身份信息，本次核验未通过。',
      },
    },
    // Every failure, explained.
    errors: {
      noToken: '缺少核验参数（token），请从商户页面重新进入。',
      cameraDenied: '需要摄像头和麦克风权限才能核验。请在设置中允许使用摄像头和麦克风。',
      cameraFailed: '摄像头无法启动，请关闭其他使用摄像头的应用后重试。',
      recordFailed: '录制失败，请重试。',
      interrupted: '录制被中断，请重新录制。',
      loginFailed: '微信登录失败，请重试。',
      wechatUnavailable: '微信服务暂时不可用，请稍后重试。',
      network: '网络连接失败，请检查网络后重试。',
      timeout: '网络超时，请检查网络后重试。',
      uploadFailed: '视频上传失败，请检查网络后重试。',
      judgeTimeout: '核验时间较长，请稍候再查看结果。',
      expired: '本次核验已过期，请返回商户页面重新发起。',
      boundToAnother: '该核验链接属于其他微信用户，无法继续。',
      unknownToken: '核验链接无效，请返回商户页面重新发起。',
      attemptsUsedUp: '尝试次数已用完，本次核验未通过。',
      finished: '本次核验已完成。',
      inProgress: '上一次录制仍在核验中，请稍候。',
      challengeUsed: '本次动作已使用，请重新录制。',
      videoTooLarge: '视频过大或过长，请重新录制。',
      videoInvalid: '视频无法识别，请重新录制。',
      notConfigured: '商户尚未完成小程序配置，请联系商户。',
      server: '服务暂时不可用，请稍后重试。',
      failedFinal: '核验未通过。',
    },
  },
}
