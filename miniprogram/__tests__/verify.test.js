const config = require('../config')
const { installWx, SERVER } = require('./helpers/wx')
const { load, mount, text, texts, flush } = require('./helpers/render')

const pageId = load('pages/verify/verify')
const T = config.timings
const E = config.texts.errors
const TOKEN = '6A0F5C1E-2B7D-4F39-9D1A-0C3E5B7A9F21'
const KEY = 'k'.repeat(64)
const FLOW = `/api/v1/flows/${TOKEN}`
const LOGIN = '/api/v1/wechat/miniprogram/login'

const silent = { id: 'ch-1', kind: 'none' }

function flowBody(over = {}) {
  return Object.assign({ biz_token: TOKEN, state: 'created', liveness_mode: 'silent', attempts_left: 3, expires_at: '2030-01-01T00:00:00+00:00', challenge: silent }, over)
}

function error(status, code, message = '') {
  return { status, body: { code: status, status: 'Error', message, error_code: code } }
}

let w
let page

beforeEach(() => {
  jest.useFakeTimers()
  global.__app.globalData.launch = {}
  w = installWx()
  w.on('POST', LOGIN, [{ status: 200, body: { device_key: KEY, openid_bound: true } }])
  w.on('GET', FLOW, [{ status: 200, body: flowBody() }])
})

afterEach(() => {
  if (page) page.instance.onUnload()
  page = null
  jest.useRealTimers()
})

async function open(query = { token: TOKEN }) {
  page = mount(pageId)
  page.instance.onLoad(query)
  await flush()
  return page
}

async function tap(selector, comp = page) {
  comp.querySelector(selector).dispatchEvent('tap')
  await flush()
}

async function agree() {
  await tap('.agree', page.querySelector('#consent'))
}

async function record(ms = T.silentRecordMs) {
  await tap('.start')
  await flush(ms)
}

function lastUpload() {
  return w.uploads[w.uploads.length - 1]
}

function devicePaths() {
  return w.requests.filter((r) => r.url !== SERVER + LOGIN)
}

test('logs in, shows consent, records, uploads with progress, polls and returns to the done page', async () => {
  w.on('GET', `${FLOW}/attempts/att-1`, [
    { status: 200, body: { attempt_id: 'att-1', state: 'queued', outcome: null, attempts_left: 2, flow_state: 'in_progress' } },
    { status: 200, body: { attempt_id: 'att-1', state: 'done', outcome: { passed: true, message: 'passed' }, attempts_left: 2, flow_state: 'passed', redirect_url: null } },
  ])
  await open()

  expect(w.wx.login).toHaveBeenCalledTimes(1)
  const login = w.requests[0]
  expect(login).toMatchObject({ method: 'POST', url: SERVER + LOGIN, data: { token: TOKEN, code: 'code-1' } })
  expect(login.header['X-Wxflow-Device']).toBeUndefined()
  expect(w.requests[1]).toMatchObject({ method: 'GET', url: SERVER + FLOW })
  expect(w.requests[1].header['X-Wxflow-Device']).toBe(KEY)

  // Consent before any camera.
  expect(text(page.querySelector('#consent'), '.consent-title')).toBe(config.texts.consentTitle)
  expect(page.querySelector('#camera')).toBeFalsy()
  await agree()
  expect(w.wx.getSetting).toHaveBeenCalled()
  expect(page.querySelector('#camera')).toBeTruthy()
  expect(page.querySelector('#consent')).toBeFalsy()
  expect(text(page.querySelector('#challenge'), '.prompt')).toBe(config.texts.silentPrompt)
  expect(text(page, '.attempts')).toBe('还可以尝试 3 次')

  await tap('.start')
  expect(w.camera.startRecord).toHaveBeenCalledTimes(1)
  expect(w.camera.startRecord.mock.calls[0][0]).toMatchObject({ selfieMirror: false, timeout: 6 })
  expect(text(page, '.recording-note')).toBe(config.texts.recording)
  await flush(T.silentRecordMs - 1)
  expect(w.camera.stopRecord).not.toHaveBeenCalled()
  await flush(1)
  expect(w.camera.stopRecord).toHaveBeenCalledTimes(1)

  // wx.uploadFile: the file under "video", the challenge id as form data, the device key header.
  expect(w.uploads).toHaveLength(1)
  expect(lastUpload()).toMatchObject({
    url: `${SERVER}${FLOW}/attempts`,
    filePath: 'wxfile://tmp_6f1c0e2a9b.mp4',
    name: 'video',
    formData: { challenge_id: 'ch-1' },
    header: { 'X-Wxflow-Device': KEY },
  })
  expect(page.querySelector('#camera')).toBeFalsy()
  lastUpload().task.progress({ progress: 40, totalBytesSent: 400, totalBytesExpectedToSend: 1000 })
  await flush()
  expect(text(page, '.uploading-text')).toBe(`${config.texts.uploading} 40%`)

  lastUpload().task.finish({ status: 202, body: { attempt_id: 'att-1' } })
  await flush()
  expect(text(page, '.judging')).toBe(config.texts.judging)
  await flush(T.pollIntervalMs)
  const polls = w.requests.filter((r) => r.url.endsWith('/attempts/att-1'))
  expect(polls).toHaveLength(2)
  polls.forEach((p) => expect(p.header['X-Wxflow-Device']).toBe(KEY))
  expect(text(page, '.message')).toBe(config.texts.passed)

  // Not opened from another mini-program: redirect to the configured page.
  await tap('.action')
  expect(w.wx.navigateBackMiniProgram).not.toHaveBeenCalled()
  expect(w.wx.redirectTo).toHaveBeenCalledWith({ url: `${config.donePage}?token=${TOKEN}&state=passed` })
  // Every device-API call carried the key.
  devicePaths().forEach((r) => expect(r.header['X-Wxflow-Device']).toBe(KEY))
})

test('opened from another mini-program with extraData.token, it navigates back with the token', async () => {
  global.__app.globalData.launch = { scene: 1037, referrerInfo: { appId: 'wx-merchant-app', extraData: { token: TOKEN } } }
  w.on('GET', FLOW, [{ status: 200, body: flowBody({ state: 'passed', challenge: null, attempts_left: 2 }) }])
  await open({})
  expect(w.requests[0].data.token).toBe(TOKEN)
  expect(text(page, '.message')).toBe(config.texts.passed)
  await tap('.action')
  expect(w.wx.navigateBackMiniProgram).toHaveBeenCalledTimes(1)
  expect(w.wx.navigateBackMiniProgram.mock.calls[0][0].extraData).toEqual({ token: TOKEN, state: 'passed' })
  expect(w.wx.redirectTo).not.toHaveBeenCalled()
})

test('without a token nothing is requested and the user is told', async () => {
  await open({})
  expect(text(page, '.message')).toBe(E.noToken)
  expect(w.wx.login).not.toHaveBeenCalled()
  expect(w.requests).toHaveLength(0)
  expect(page.querySelector('.action')).toBeFalsy()
})

test('a used wx.login code is replaced by a fresh one, once', async () => {
  w.on('POST', LOGIN, [error(400, 'InvalidParameterValue.WeChatCodeUsed'), { status: 200, body: { device_key: KEY, openid_bound: true } }])
  await open()
  expect(w.wx.login).toHaveBeenCalledTimes(2)
  expect(w.requests.filter((r) => r.url === SERVER + LOGIN).map((r) => r.data.code)).toEqual(['code-1', 'code-2'])
  expect(page.querySelector('#consent')).toBeTruthy()
})

test('wx.login failing is explained and can be retried', async () => {
  w.wx.login.mockImplementationOnce((o) => Promise.resolve().then(() => o.fail({ errMsg: 'login:fail' })))
  await open()
  expect(text(page, '.message')).toBe(E.loginFailed)
  expect(w.requests).toHaveLength(0)
  await tap('.action')
  expect(page.querySelector('#consent')).toBeTruthy()
})

test.each([
  [410, 'InvalidParameterValue.BizTokenExpired', E.expired, config.texts.returnToMerchant],
  [403, 'FailedOperation.FlowBoundToAnotherUser', E.boundToAnother, null],
  [404, 'InvalidParameterValue.BizTokenIllegal', E.unknownToken, null],
  [400, 'UnsupportedOperation.WeChatNotConfigured', E.notConfigured, null],
  [503, 'FailedOperation.WeChatBusy', E.wechatUnavailable, config.texts.reload],
])('login answered %i %s is explained', async (status, code, message, button) => {
  w.on('POST', LOGIN, [error(status, code)])
  await open()
  expect(text(page, '.message')).toBe(message)
  expect(text(page, '.action')).toBe(button)
  expect(w.requests).toHaveLength(1) // nothing else was asked
})

test('an expired token ends with the merchant told the state', async () => {
  w.on('POST', LOGIN, [error(410, 'InvalidParameterValue.BizTokenExpired')])
  await open()
  await tap('.action')
  expect(w.wx.redirectTo).toHaveBeenCalledWith({ url: `${config.donePage}?token=${TOKEN}&state=expired` })
})

test('a network failure is explained, and retrying logs in again', async () => {
  w.on('POST', LOGIN, [{ fail: 'request:fail timeout' }, { status: 200, body: { device_key: KEY, openid_bound: true } }])
  await open()
  expect(text(page, '.message')).toBe(E.timeout)
  expect(text(page, '.action')).toBe(config.texts.reload)
  await tap('.action')
  expect(page.querySelector('#consent')).toBeTruthy()
  expect(w.requests.map((r) => r.method + ' ' + r.url.replace(SERVER, ''))).toEqual([`POST ${LOGIN}`, `POST ${LOGIN}`, `GET ${FLOW}`])
})

test('a flow with no attempts left is explained without opening the camera', async () => {
  w.on('GET', FLOW, [{ status: 200, body: flowBody({ state: 'failed', attempts_left: 0, challenge: null }) }])
  await open()
  expect(text(page, '.message')).toBe(E.attemptsUsedUp)
  expect(page.querySelector('#consent')).toBeFalsy()
  expect(page.querySelector('#camera')).toBeFalsy()
})

test('declining consent is explained and never asks for the camera', async () => {
  await open()
  await tap('.decline', page.querySelector('#consent'))
  expect(text(page, '.message')).toBe(config.texts.declined)
  expect(w.wx.authorize).not.toHaveBeenCalled()
  expect(w.wx.createCameraContext).not.toHaveBeenCalled()
})

test('camera permission denied: explained, and granted through the settings page', async () => {
  w = installWx({ auth: {}, grant: false })
  w.on('POST', LOGIN, [{ status: 200, body: { device_key: KEY, openid_bound: true } }])
  w.on('GET', FLOW, [{ status: 200, body: flowBody() }])
  await open()
  await agree()
  expect(w.wx.authorize).toHaveBeenCalledWith(expect.objectContaining({ scope: 'scope.camera' }))
  expect(text(page, '.message')).toBe(E.cameraDenied)
  expect(text(page, '.action')).toBe(config.texts.openSettings)
  expect(page.querySelector('#camera')).toBeFalsy()

  w.auth['scope.camera'] = true
  w.auth['scope.record'] = true
  await tap('.action')
  expect(w.wx.openSetting).toHaveBeenCalledTimes(1)
  expect(page.querySelector('#camera')).toBeTruthy()
  expect(page.querySelector('.start')).toBeTruthy()
})

test('permission refused earlier (authSetting false) goes straight to settings; refused there again stays explained', async () => {
  w = installWx({ auth: { 'scope.camera': true, 'scope.record': false } })
  w.on('POST', LOGIN, [{ status: 200, body: { device_key: KEY, openid_bound: true } }])
  w.on('GET', FLOW, [{ status: 200, body: flowBody() }])
  await open()
  await agree()
  expect(w.wx.authorize).not.toHaveBeenCalled()
  expect(text(page, '.message')).toBe(E.cameraDenied)
  await tap('.action')
  expect(text(page, '.message')).toBe(E.cameraDenied)
})

test('the camera component failing (denied in the system) is explained', async () => {
  await open()
  await agree()
  w.auth['scope.camera'] = false
  page.querySelector('#camera').dispatchEvent('error', { detail: { errMsg: 'insertCamera:fail auth deny' } })
  await flush()
  expect(text(page, '.message')).toBe(E.cameraDenied)
  expect(page.querySelector('#camera')).toBeFalsy()
})

test('the camera failing for another reason says so', async () => {
  await open()
  await agree()
  page.querySelector('#camera').dispatchEvent('error', { detail: { errMsg: 'camera busy' } })
  await flush()
  expect(text(page, '.message')).toBe(E.cameraFailed)
})

test('startRecord failing is explained and recording can be tried again', async () => {
  await open()
  await agree()
  w.camera.startRecord.mockImplementationOnce((o) => Promise.resolve().then(() => o.fail({ errMsg: 'operateCamera:fail' })))
  await tap('.start')
  expect(text(page, '.message')).toBe(E.recordFailed)
  expect(w.uploads).toHaveLength(0)
  await tap('.action')
  expect(page.querySelector('.start')).toBeTruthy()
  await record()
  expect(w.uploads).toHaveLength(1)
})

test('recording interrupted by the system is explained and nothing is uploaded', async () => {
  await open()
  await agree()
  await tap('.start')
  await flush(1000)
  page.querySelector('#camera').dispatchEvent('stop')
  await flush(T.silentRecordMs)
  expect(text(page, '.message')).toBe(E.interrupted)
  expect(w.uploads).toHaveLength(0)
  expect(text(page, '.action')).toBe(config.texts.reRecord)
})

test('an upload lost to the network is explained and the same recording can be sent again', async () => {
  w.on('GET', `${FLOW}/attempts/att-2`, [{ status: 200, body: { attempt_id: 'att-2', state: 'done', outcome: { passed: true, message: 'passed' }, attempts_left: 2, flow_state: 'passed' } }])
  await open()
  await agree()
  await record()
  lastUpload().task.finish({ fail: 'uploadFile:fail timeout' })
  await flush()
  expect(text(page, '.message')).toBe(E.uploadFailed)
  expect(text(page, '.action')).toBe(config.texts.reUpload)
  await tap('.action')
  expect(w.uploads).toHaveLength(2)
  expect(w.uploads[1]).toMatchObject({ filePath: w.uploads[0].filePath, formData: { challenge_id: 'ch-1' }, header: { 'X-Wxflow-Device': KEY } })
  lastUpload().task.finish({ status: 202, body: { attempt_id: 'att-2' } })
  await flush()
  expect(text(page, '.message')).toBe(config.texts.passed)
})

test.each([
  [409, 'LimitExceeded', E.attemptsUsedUp],
  [410, 'InvalidParameterValue.BizTokenExpired', E.expired],
  [413, 'FailedOperation.VideoDurationExceeded', E.videoTooLarge],
  [400, 'FailedOperation.VideoDecodeFailed', E.videoInvalid],
  [403, 'FailedOperation.FlowBoundToAnotherUser', E.boundToAnother],
])('an upload answered %i %s is explained', async (status, code, message) => {
  await open()
  await agree()
  await record()
  lastUpload().task.finish(error(status, code))
  await flush()
  expect(text(page, '.message')).toBe(message)
})

test('a failed attempt with attempts left offers a retry with a fresh challenge', async () => {
  w.on('GET', FLOW, [
    { status: 200, body: flowBody() },
    { status: 200, body: flowBody({ state: 'in_progress', attempts_left: 2, challenge: { id: 'ch-2', kind: 'none' } }) },
  ])
  w.on('GET', `${FLOW}/attempts/att-1`, [
    { status: 200, body: { attempt_id: 'att-1', state: 'done', outcome: { passed: false, message: 'We could not see your face clearly.' }, attempts_left: 2, flow_state: 'in_progress' } },
  ])
  await open()
  await agree()
  await record()
  lastUpload().task.finish({ status: 202, body: { attempt_id: 'att-1' } })
  await flush()
  expect(text(page, '.message')).toBe('We could not see your face clearly.\n还可以尝试 2 次')
  expect(text(page, '.action')).toBe(config.texts.retry)

  await tap('.action')
  expect(page.querySelector('#consent')).toBeFalsy() // consent is asked once
  expect(page.querySelector('.start')).toBeTruthy()
  await record()
  expect(lastUpload().formData).toEqual({ challenge_id: 'ch-2' })
})

test('the last failed attempt ends the flow and returns to the merchant', async () => {
  global.__app.globalData.launch = { referrerInfo: { appId: 'wx-merchant-app' } }
  w.on('GET', `${FLOW}/attempts/att-1`, [
    { status: 200, body: { attempt_id: 'att-1', state: 'done', outcome: { passed: false, message: 'The face did not match.' }, attempts_left: 0, flow_state: 'failed' } },
  ])
  await open()
  await agree()
  await record()
  lastUpload().task.finish({ status: 202, body: { attempt_id: 'att-1' } })
  await flush()
  expect(text(page, '.message')).toBe(`${E.failedFinal}\nThe face did not match.`)
  await tap('.action')
  expect(w.wx.navigateBackMiniProgram.mock.calls[0][0].extraData).toEqual({ token: TOKEN, state: 'failed' })
})

test('judging that takes too long is explained, and waiting more gets the result', async () => {
  const queued = { status: 200, body: { attempt_id: 'att-1', state: 'running', outcome: null, attempts_left: 2, flow_state: 'in_progress' } }
  w.on('GET', `${FLOW}/attempts/att-1`, [queued])
  await open()
  await agree()
  await record()
  lastUpload().task.finish({ status: 202, body: { attempt_id: 'att-1' } })
  await flush(T.pollTimeoutMs)
  expect(text(page, '.message')).toBe(E.judgeTimeout)
  const polled = w.requests.filter((r) => r.url.endsWith('/attempts/att-1')).length
  expect(polled).toBeGreaterThan(10)
  await flush(10 * T.pollIntervalMs)
  expect(w.requests.filter((r) => r.url.endsWith('/attempts/att-1')).length).toBe(polled) // stopped polling

  w.on('GET', `${FLOW}/attempts/att-1`, [{ status: 200, body: { attempt_id: 'att-1', state: 'done', outcome: { passed: true, message: 'passed' }, attempts_left: 2, flow_state: 'passed' } }])
  await tap('.action')
  expect(text(page, '.message')).toBe(config.texts.passed)
})

test('polling survives a dropped request but not a dead network', async () => {
  w.on('GET', `${FLOW}/attempts/att-1`, [{ fail: 'request:fail' }, { fail: 'request:fail' }, { fail: 'request:fail' }])
  await open()
  await agree()
  await record()
  lastUpload().task.finish({ status: 202, body: { attempt_id: 'att-1' } })
  await flush()
  expect(text(page, '.judging')).toBe(config.texts.judging) // one failure: still waiting
  await flush(T.pollIntervalMs * 2)
  expect(text(page, '.message')).toBe(E.network)
  expect(text(page, '.action')).toBe(config.texts.keepWaiting)
})

test('action mode prompts each action in turn and records for all of them', async () => {
  const challenge = { id: 'ch-a', kind: 'action', actions: [1, 2], action_names: ['open_mouth', 'blink'], sequence: '1,2' }
  w.on('GET', FLOW, [{ status: 200, body: flowBody({ liveness_mode: 'action', challenge }) }])
  await open()
  expect(text(page.querySelector('#consent'), '.consent-mode')).toBe(config.texts.actionPrompt)
  await agree()
  const shown = page.querySelector('#challenge')
  expect(texts(shown, '.action-item')).toEqual(['1. 张张嘴', '2. 眨眨眼'])
  await tap('.start')
  await flush(T.actionLeadMs)
  expect(text(shown, '.current-action')).toBe('张张嘴')
  await flush(T.actionStepMs)
  expect(text(shown, '.current-action')).toBe('眨眨眼')
  expect(w.camera.stopRecord).not.toHaveBeenCalled()
  await flush(T.actionStepMs)
  expect(w.camera.stopRecord).toHaveBeenCalledTimes(1)
  expect(lastUpload().formData).toEqual({ challenge_id: 'ch-a' })
})

test('digit mode shows the digits to read aloud and asks for the microphone too', async () => {
  w = installWx({ auth: {} })
  w.on('POST', LOGIN, [{ status: 200, body: { device_key: KEY, openid_bound: true } }])
  w.on('GET', FLOW, [{ status: 200, body: flowBody({ liveness_mode: 'digit', challenge: { id: 'ch-d', kind: 'digit', code: '5820' } }) }])
  await open()
  await agree()
  expect(w.wx.authorize.mock.calls.map((c) => c[0].scope)).toEqual(['scope.camera', 'scope.record'])
  expect(texts(page.querySelector('#challenge'), '.digit')).toEqual(['5', '8', '2', '0'])
  await record(T.digitRecordMs)
  expect(lastUpload().formData).toEqual({ challenge_id: 'ch-d' })
})

test('light mode shows the issued colours full screen from the start of recording, then uploads', async () => {
  const challenge = { id: 'ch-l', kind: 'light', colours: ['#FFFF00', '#0000FF'], durations_ms: [400, 500], start_ms: 300 }
  w.on('GET', FLOW, [{ status: 200, body: flowBody({ liveness_mode: 'light', challenge }) }])
  await open()
  await agree()
  const colours = page.querySelector('#challenge').querySelector('#colours')
  const shown = () => {
    const node = colours.querySelector('.colour-screen')
    return node ? node.dom.getAttribute('data-colour') : ''
  }
  expect(shown()).toBe('')
  await tap('.start') // startRecord succeeds: the sequence clock starts now
  await flush(299)
  expect(shown()).toBe('')
  await flush(1)
  expect(shown()).toBe('#FFFF00')
  await flush(400)
  expect(shown()).toBe('#0000FF')
  await flush(500)
  expect(shown()).toBe('')
  expect(w.camera.stopRecord).not.toHaveBeenCalled() // the tail after the last colour
  await flush(T.colourTailMs)
  expect(w.camera.stopRecord).toHaveBeenCalledTimes(1)
  expect(lastUpload().formData).toEqual({ challenge_id: 'ch-l' })
})

test('camera frames guide on light, and on face and distance where VisionKit is available', async () => {
  const anchors = {}
  const session = {
    on: jest.fn((name, cb) => {
      anchors[name] = cb
    }),
    start: jest.fn(),
    detectFace: jest.fn(),
    destroy: jest.fn(),
  }
  global.wx.createVKSession = jest.fn(() => session)
  await open()
  await agree()
  expect(w.camera.onCameraFrame).toHaveBeenCalledTimes(1)
  expect(w.camera.listener.start).toHaveBeenCalled()
  const frame = (v) => ({ width: 16, height: 16, data: new Uint8Array(16 * 16 * 4).fill(v).buffer })

  anchors.removeAnchors()
  w.camera.frameCallback(frame(128))
  await flush()
  expect(text(page, '.guidance')).toBe(config.texts.guidance.noFace)
  expect(session.detectFace).toHaveBeenCalledWith(expect.objectContaining({ width: 16, height: 16, sourceType: 1 }))

  anchors.updateAnchors([{ origin: { x: 0.45, y: 0.45 }, size: { width: 0.1, height: 0.12 } }])
  await flush(T.guidanceEveryMs)
  w.camera.frameCallback(frame(128))
  await flush()
  expect(text(page, '.guidance')).toBe(config.texts.guidance.tooFar)

  anchors.updateAnchors([{ origin: { x: 0.3, y: 0.25 }, size: { width: 0.4, height: 0.5 } }])
  await flush(T.guidanceEveryMs)
  w.camera.frameCallback(frame(20))
  await flush()
  expect(text(page, '.guidance')).toBe(config.texts.guidance.tooDark)

  await flush(T.guidanceEveryMs)
  w.camera.frameCallback(frame(128))
  await flush()
  expect(text(page, '.guidance')).toBe(config.texts.guidance.good)

  await record()
  expect(w.camera.listener.stop).toHaveBeenCalled()
  expect(session.destroy).toHaveBeenCalled()
  delete global.wx.createVKSession
})

test('without VisionKit the frames still guide on light', async () => {
  await open()
  await agree()
  w.camera.frameCallback({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 4).fill(250).buffer })
  await flush()
  expect(text(page, '.guidance')).toBe(config.texts.guidance.tooBright)
})

test('leaving the page while recording stops and explains', async () => {
  await open()
  await agree()
  await tap('.start')
  page.instance.onHide()
  await flush(T.silentRecordMs)
  expect(w.uploads).toHaveLength(0)
  expect(text(page, '.message')).toBe(E.interrupted)
})

describe('the ID-card step (a rule with ID-card OCR)', () => {
  const C = config.texts.card
  const CARD_FLOW = flowBody({ id_card: { required: true, front: false, back: false, done: false } })
  let picked

  beforeEach(() => {
    picked = 0
    global.wx.chooseMedia = jest.fn((o) => {
      picked += 1
      Promise.resolve().then(() => o.success({ tempFiles: [{ tempFilePath: `wxfile://card_${picked}.jpg`, size: 2048 }] }))
    })
    w.on('GET', FLOW, [{ status: 200, body: CARD_FLOW }])
  })

  afterEach(() => {
    delete global.wx.chooseMedia
  })

  function cardUploads() {
    return w.uploads.filter((u) => u.url.indexOf('/id-card/') >= 0)
  }

  test('front (a refused picture, then a good one), back, then the camera; no attempt is spent on the card', async () => {
    await open()
    await agree()
    expect(page.querySelector('#camera')).toBeFalsy()
    expect(text(page, '.card-title')).toBe(C.frontTitle)
    expect(text(page, '.card-note')).toBe(C.privacy)

    await tap('.card-take')
    expect(global.wx.chooseMedia.mock.calls[0][0]).toMatchObject({ count: 1, mediaType: ['image'], camera: 'back' })
    expect(lastUpload()).toMatchObject({
      url: `${SERVER}${FLOW}/id-card/front`,
      filePath: 'wxfile://card_1.jpg',
      name: 'image',
      header: { 'X-Wxflow-Device': KEY },
    })
    expect(text(page, '.card-take')).toBe(C.reading)
    // 代用名's number fails its check digit: the user is told and takes the picture again.
    lastUpload().task.finish(error(400, 'FailedOperation.IdFormatError', 'the check digit is wrong'))
    await flush()
    expect(text(page, '.card-error')).toBe(C.errors.badNumber)
    expect(page.querySelector('.card-next')).toBeFalsy()
    expect(text(page, '.card-take')).toBe(C.retake)

    await tap('.card-take')
    lastUpload().task.finish({
      status: 200,
      body: { side: 'front', name: '小静', id_card: '370782198709170246', warnings: [-9101], id_card_step: { required: true, front: true, back: false, done: false } },
    })
    await flush()
    expect(texts(page, '.card-value')).toEqual(['小静', '370782198709170246'])
    expect(text(page, '.card-note')).toBe(C.check)
    expect(text(page, '.card-next')).toBe(C.nextBack)

    await tap('.card-next')
    expect(text(page, '.card-title')).toBe(C.backTitle)
    await tap('.card-take')
    expect(lastUpload().url).toBe(`${SERVER}${FLOW}/id-card/back`)
    lastUpload().task.finish(error(400, 'FailedOperation.IdCardWrongSide'))
    await flush()
    expect(text(page, '.card-error')).toBe(C.errors.wrongSide)
    await tap('.card-take')
    lastUpload().task.finish({
      status: 200,
      body: { side: 'back', authority: '北京市公安局海淀分局', valid_date: '2015.01.01-2035.01.01', warnings: [], id_card_step: { required: true, front: true, back: true, done: true } },
    })
    await flush()
    expect(texts(page, '.card-value')).toEqual(['北京市公安局海淀分局', '2015.01.01-2035.01.01'])
    expect(text(page, '.card-next')).toBe(C.nextFace)

    await tap('.card-next')
    expect(page.querySelector('#camera')).toBeTruthy()
    expect(cardUploads()).toHaveLength(4)
    expect(w.uploads.filter((u) => u.url.endsWith('/attempts'))).toHaveLength(0)
    expect(text(page, '.attempts')).toBe('还可以尝试 3 次')
  })

  test('a cancelled picker stays on the side; a lost upload says so and can be retried', async () => {
    await open()
    await agree()
    global.wx.chooseMedia.mockImplementationOnce((o) => Promise.resolve().then(() => o.fail({ errMsg: 'chooseMedia:fail cancel' })))
    await tap('.card-take')
    expect(cardUploads()).toHaveLength(0)
    expect(text(page, '.card-title')).toBe(C.frontTitle)
    await tap('.card-take')
    lastUpload().task.finish({ fail: 'uploadFile:fail' })
    await flush()
    expect(text(page, '.card-error')).toBe(C.errors.network)
  })

  test('a card whose identity the authority refuses ends the verification and returns', async () => {
    await open()
    await agree()
    await tap('.card-take')
    lastUpload().task.finish(error(409, 'FailedOperation.IdentityNotVerified'))
    await flush()
    expect(text(page, '.message')).toBe(C.errors.identityFailed)
    await tap('.action')
    expect(w.wx.redirectTo.mock.calls[0][0].url).toContain('state=failed')
  })

  test('a card step already done goes straight to the camera', async () => {
    w.on('GET', FLOW, [{ status: 200, body: flowBody({ id_card: { required: true, front: true, back: true, done: true } }) }])
    await open()
    await agree()
    expect(page.querySelector('#camera')).toBeTruthy()
  })
})
