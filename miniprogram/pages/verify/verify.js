// The verification page: opened with ?token=<BizToken> (or with extraData.token from another
// mini-program). Built with Component() as a page, so onLoad/onUnload live in methods.
const config = require('../../config')
const { createClient } = require('../../utils/api')
const { explain } = require('../../utils/errors')
const { recordPlan } = require('../../utils/plan')
const { brightness, advise } = require('../../utils/guidance')

const FINAL = ['passed', 'failed', 'expired']
const SCOPES = ['scope.camera', 'scope.record']
// Card refusals the user fixes by taking the picture again (the device API's error codes).
const CARD_ERRORS = {
  'FailedOperation.OcrFailed': 'unreadable',
  'FailedOperation.ImageDecodeFailed': 'unreadable',
  'FailedOperation.NameFormatError': 'unreadable',
  'FailedOperation.IdFormatError': 'badNumber',
  'FailedOperation.IdCardWrongSide': 'wrongSide',
  'FailedOperation.IdCardMismatch': 'mismatch',
  'FailedOperation.ImageSizeTooLarge': 'tooLarge',
}
const ACTION_LABELS = {
  reload: 'reload',
  reRecord: 'reRecord',
  reUpload: 'reUpload',
  keepWaiting: 'keepWaiting',
  settings: 'openSettings',
  return: 'returnToMerchant',
  login: 'reload',
  retry: 'retry',
}

function call(fn, options) {
  return new Promise((resolve, reject) => fn(Object.assign({}, options, { success: resolve, fail: reject })))
}

function launchToken() {
  const app = typeof getApp === 'function' ? getApp() : null
  const launch = (app && app.globalData && app.globalData.launch) || {}
  const extra = (launch.referrerInfo && launch.referrerInfo.extraData) || {}
  return extra.token || ''
}

function openedFromMiniProgram() {
  const app = typeof getApp === 'function' ? getApp() : null
  const launch = (app && app.globalData && app.globalData.launch) || {}
  return Boolean(launch.referrerInfo && launch.referrerInfo.appId)
}

Component({
  data: {
    texts: config.texts,
    timings: config.timings,
    phase: 'loading', // loading consent ready recording uploading judging passed retry failed error denied
    mode: 'silent',
    challenge: null,
    showCamera: false,
    recording: false,
    guidance: '',
    guidanceKey: '',
    progress: 0,
    attemptsText: '',
    message: '',
    action: '',
    actionLabel: '',
    cardSide: 'front',
    cardFields: [],
    cardError: '',
    cardBusy: false,
    cardDone: false,
  },

  methods: {
    // --- page lifecycle ------------------------------------------------------------------------
    onLoad(query) {
      this.token = decodeURIComponent((query && query.token) || '') || launchToken()
      this.consented = false
      this.flowState = ''
      if (!this.token) {
        this.fail(config.texts.errors.noToken, '')
        return Promise.resolve()
      }
      this.api = createClient({ serverUrl: config.serverUrl, token: this.token, timings: config.timings })
      return this.begin()
    },
    onHide() {
      if (this.data.phase === 'recording') this.abortRecording(config.texts.errors.interrupted)
    },
    onUnload() {
      this.cleanup()
      if (this.uploadTask && this.data.phase === 'uploading') this.uploadTask.abort()
    },

    // --- login and flow ------------------------------------------------------------------------
    begin() {
      this.show('loading')
      return this.login()
        .then(() => this.loadFlow())
        .catch((err) => this.failWith(err))
    },

    // wx.login, then the server binds the flow to this user. A used or stale code gets one fresh try.
    login(retried = false) {
      return call(wx.login, { timeout: config.timings.requestTimeoutMs })
        .catch(() => {
          const err = new Error('wx.login failed')
          err.kind = 'wxlogin'
          throw err
        })
        .then((res) => this.api.login(res.code))
        .catch((err) => {
          const stale = err.code === 'InvalidParameterValue.WeChatCodeUsed' || err.code === 'InvalidParameterValue.WeChatCodeInvalid'
          if (stale && !retried) return this.login(true)
          throw err
        })
    },

    loadFlow() {
      return this.api.flow().then((flow) => {
        this.flowState = flow.state
        this.setData({ mode: flow.liveness_mode || 'silent', attemptsText: this.attemptsText(flow.attempts_left) })
        if (flow.state === 'passed') return this.passed()
        if (flow.state === 'expired') return this.fail(config.texts.errors.expired, 'return')
        if (flow.state === 'failed' || flow.attempts_left === 0) return this.fail(config.texts.errors.attemptsUsedUp, 'return')
        if (!flow.challenge) return this.fail(config.texts.errors.inProgress, 'reload')
        this.setData({ challenge: flow.challenge })
        this.cardStep = flow.id_card || null
        if (!this.consented) return this.show('consent')
        return this.afterPermissions()
      })
    },

    attemptsText(n) {
      return typeof n === 'number' ? config.texts.attemptsLeft.replace('{n}', n) : ''
    },

    // --- consent and permissions ---------------------------------------------------------------
    onAgree() {
      this.consented = true
      return this.ensurePermissions().then((granted) => (granted ? this.afterPermissions() : this.denied()))
    },
    onDecline() {
      this.fail(config.texts.declined, 'return')
    },

    ensurePermissions() {
      return call(wx.getSetting, {})
        .then((res) => {
          const auth = (res && res.authSetting) || {}
          return SCOPES.reduce(
            (chain, scope) =>
              chain.then((ok) => {
                if (!ok) return false
                if (auth[scope] === true) return true
                if (auth[scope] === false) return false // denied before: only the settings page can change it
                return call(wx.authorize, { scope }).then(
                  () => true,
                  () => false
                )
              }),
            Promise.resolve(true)
          )
        })
        .catch(() => false)
    },

    denied() {
      this.cleanup()
      this.fail(config.texts.errors.cameraDenied, 'settings')
    },

    openSettings() {
      return call(wx.openSetting, {}).then(
        (res) => {
          const auth = (res && res.authSetting) || {}
          if (SCOPES.every((s) => auth[s])) return this.afterPermissions()
          return this.denied()
        },
        () => this.denied()
      )
    },

    // --- the ID card (rules with ID-card OCR) -----------------------------------------------------
    afterPermissions() {
      const step = this.cardStep
      if (step && step.required && !step.done) return this.showCard(step.front ? 'back' : 'front')
      return this.ready()
    },

    showCard(side) {
      this.show('card', { cardSide: side, cardFields: [], cardError: '', cardBusy: false, cardDone: false })
    },

    // The back camera or the album; the server reads the card at once and says what it read.
    onTakeCard() {
      if (this.data.cardBusy) return Promise.resolve()
      const pick = { count: 1, mediaType: ['image'], sourceType: ['camera', 'album'], sizeType: ['compressed'], camera: 'back' }
      return call(wx.chooseMedia, pick).then(
        (res) => {
          const file = res && res.tempFiles && res.tempFiles[0]
          return file ? this.sendCard(file.tempFilePath) : null
        },
        () => null // cancelled: stay on this side
      )
    },

    sendCard(filePath) {
      const side = this.data.cardSide
      const c = config.texts.card
      this.setData({ cardBusy: true, cardError: '', cardFields: [] })
      return this.api.uploadCard(side, filePath).then(
        (body) => {
          this.cardStep = body.id_card_step
          const fields =
            side === 'front'
              ? [{ label: c.name, value: body.name }, { label: c.idNumber, value: body.id_card }]
              : [{ label: c.authority, value: body.authority || '—' }, { label: c.validDate, value: body.valid_date || '—' }]
          this.setData({ cardBusy: false, cardFields: fields, cardDone: Boolean(body.id_card_step.done) })
        },
        (err) => {
          this.setData({ cardBusy: false })
          if (err.kind === 'network') return this.setData({ cardError: c.errors.network })
          if (CARD_ERRORS[err.code]) return this.setData({ cardError: c.errors[CARD_ERRORS[err.code]] })
          if (err.status === 503) return this.setData({ cardError: c.errors.busy })
          if (err.code === 'FailedOperation.IdentityNotVerified') {
            this.flowState = 'failed'
            return this.fail(c.errors.identityFailed, 'return', 'failed')
          }
          return this.failWith(err)
        }
      )
    },

    onCardNext() {
      const step = this.cardStep || {}
      if (!step.done) return this.showCard(step.front ? 'back' : 'front')
      return this.ready()
    },

    // --- camera and recording ------------------------------------------------------------------
    ready() {
      this.show('ready', { showCamera: true, recording: false })
      this.camera = this.camera || wx.createCameraContext()
      this.startGuidance()
    },

    onCameraError() {
      // The user refused the camera in the system prompt, or the camera could not start.
      this.cleanup()
      return call(wx.getSetting, {}).then(
        (res) => {
          const auth = (res && res.authSetting) || {}
          if (auth['scope.camera'] === false) return this.denied()
          return this.fail(config.texts.errors.cameraFailed, 'reload')
        },
        () => this.fail(config.texts.errors.cameraFailed, 'reload')
      )
    },

    onCameraStop() {
      // The system stopped the camera (a call, the app backgrounded) while recording.
      if (this.data.phase === 'recording') this.abortRecording(config.texts.errors.interrupted)
    },

    onStart() {
      if (this.data.phase !== 'ready') return
      const plan = recordPlan(this.data.challenge, config.timings)
      this.show('recording', { recording: false })
      this.camera.startRecord({
        timeout: Math.min(30, Math.ceil(plan.durationMs / 1000) + 2),
        selfieMirror: false,
        success: () => {
          if (this.data.phase !== 'recording') return
          // The challenge starts with the recording: action prompts and colours are timed from here.
          this.setData({ recording: true })
          this.stopTimer = setTimeout(() => this.stopRecording(), plan.durationMs)
        },
        fail: () => this.failRecording(config.texts.errors.recordFailed),
      })
    },

    stopRecording() {
      this.stopTimer = null
      this.setData({ recording: false })
      this.camera.stopRecord({
        compressed: false,
        success: (res) => {
          if (!res || !res.tempVideoPath) return this.failRecording(config.texts.errors.recordFailed)
          this.stopGuidance()
          return this.upload(res.tempVideoPath)
        },
        fail: () => this.failRecording(config.texts.errors.recordFailed),
      })
    },

    abortRecording(text) {
      clearTimeout(this.stopTimer)
      this.stopTimer = null
      this.setData({ recording: false })
      if (this.camera) this.camera.stopRecord({ success() {}, fail() {} })
      this.failRecording(text)
    },

    failRecording(text) {
      this.cleanup()
      this.fail(text, 'reRecord')
    },

    // --- guidance (onCameraFrame where the base library has it) --------------------------------
    startGuidance() {
      if (this.frameListener || !this.camera || typeof this.camera.onCameraFrame !== 'function') return
      this.face = null
      this.lastFrameAt = 0
      if (typeof wx.createVKSession === 'function') {
        try {
          const session = wx.createVKSession({ version: 'v1', track: { face: { mode: 2 } } })
          session.on('updateAnchors', (anchors) => {
            const a = anchors && anchors[0]
            this.face = a ? { x: a.origin.x, y: a.origin.y, width: a.size.width, height: a.size.height } : false
          })
          session.on('removeAnchors', () => {
            this.face = false
          })
          session.start(() => {})
          this.vk = session
        } catch (e) {
          this.vk = null
        }
      }
      this.frameListener = this.camera.onCameraFrame((frame) => this.onFrame(frame))
      this.frameListener.start({})
    },

    onFrame(frame) {
      const now = Date.now()
      if (now - this.lastFrameAt < config.timings.guidanceEveryMs) return
      this.lastFrameAt = now
      if (this.vk) {
        this.vk.detectFace({ frameBuffer: frame.data, width: frame.width, height: frame.height, scoreThreshold: 0.5, sourceType: 1, modelMode: 1 })
      }
      const key = advise({ luma: brightness(frame), face: this.vk ? this.face : null })
      if (key !== this.data.guidanceKey) this.setData({ guidanceKey: key, guidance: config.texts.guidance[key] })
    },

    stopGuidance() {
      if (this.frameListener) this.frameListener.stop({})
      this.frameListener = null
      if (this.vk) this.vk.destroy()
      this.vk = null
      this.setData({ guidance: '', guidanceKey: '' })
    },

    // --- upload and outcome --------------------------------------------------------------------
    upload(filePath) {
      this.lastVideo = filePath
      this.show('uploading', { showCamera: false, progress: 0 })
      const { task, done } = this.api.upload(filePath, this.data.challenge.id)
      this.uploadTask = task
      if (task && typeof task.onProgressUpdate === 'function') {
        task.onProgressUpdate((res) => this.setData({ progress: res.progress }))
      }
      return done.then(
        (body) => {
          this.uploadTask = null
          this.setData({ progress: 100 })
          return this.poll(body.attempt_id)
        },
        (err) => {
          this.uploadTask = null
          if (err.kind === 'network') return this.fail(config.texts.errors.uploadFailed, 'reUpload')
          return this.failWith(err)
        }
      )
    },

    poll(attemptId) {
      this.attemptId = attemptId
      this.show('judging')
      const deadline = Date.now() + config.timings.pollTimeoutMs
      let failures = 0
      return new Promise((resolve) => {
        const tick = () => {
          this.api.attempt(attemptId).then(
            (attempt) => {
              failures = 0
              if (attempt.state === 'done' || attempt.state === 'failed') return resolve(this.outcome(attempt))
              return next()
            },
            (err) => {
              failures += 1
              if (err.kind === 'network' && failures < config.timings.pollNetworkFailures) return next()
              if (err.kind === 'network') return resolve(this.fail(config.texts.errors.network, 'keepWaiting'))
              return resolve(this.failWith(err))
            }
          )
        }
        const next = () => {
          if (Date.now() + config.timings.pollIntervalMs > deadline) {
            return resolve(this.fail(config.texts.errors.judgeTimeout, 'keepWaiting'))
          }
          this.pollTimer = setTimeout(tick, config.timings.pollIntervalMs)
          return null
        }
        tick()
      })
    },

    outcome(attempt) {
      this.flowState = attempt.flow_state
      const outcome = attempt.outcome || { passed: false, message: '' }
      this.setData({ attemptsText: this.attemptsText(attempt.attempts_left) })
      if (outcome.passed || attempt.flow_state === 'passed') return this.passed()
      const said = outcome.message ? `${outcome.message}` : ''
      if (FINAL.indexOf(attempt.flow_state) >= 0 || attempt.attempts_left === 0) {
        return this.fail([config.texts.errors.failedFinal, said].filter(Boolean).join('\n'), 'return', 'failed')
      }
      return this.fail([said, this.attemptsText(attempt.attempts_left)].filter(Boolean).join('\n'), 'retry', 'retry')
    },

    passed() {
      this.flowState = 'passed'
      this.cleanup()
      this.show('passed', { message: config.texts.passed, action: 'return', actionLabel: config.texts.returnToMerchant })
      if (config.timings.autoReturnMs > 0) this.returnTimer = setTimeout(() => this.finish(), config.timings.autoReturnMs)
    },

    // --- the end: back to the merchant ---------------------------------------------------------
    finish() {
      clearTimeout(this.returnTimer)
      const state = this.flowState || ''
      const redirect = () => {
        const sep = config.donePage.indexOf('?') >= 0 ? '&' : '?'
        wx.redirectTo({ url: `${config.donePage}${sep}token=${encodeURIComponent(this.token)}&state=${encodeURIComponent(state)}` })
      }
      if (openedFromMiniProgram()) {
        wx.navigateBackMiniProgram({ extraData: { token: this.token, state }, fail: redirect })
      } else {
        redirect()
      }
    },

    // --- the one action button -----------------------------------------------------------------
    onAction() {
      const action = this.data.action
      this.setData({ message: '', action: '', actionLabel: '' })
      switch (action) {
        case 'return':
          return this.finish()
        case 'settings':
          return this.openSettings()
        case 'reUpload':
          return this.upload(this.lastVideo)
        case 'keepWaiting':
          return this.poll(this.attemptId)
        case 'login':
          return this.begin()
        case 'retry':
        case 'reRecord':
        case 'reload':
          return (this.api.deviceKey ? this.loadFlow() : this.login().then(() => this.loadFlow())).catch((err) => this.failWith(err))
        default:
          return null
      }
    },

    // --- showing states ------------------------------------------------------------------------
    show(phase, extra) {
      this.setData(Object.assign({ phase, message: '', action: '', actionLabel: '' }, phase === 'ready' || phase === 'recording' ? {} : { showCamera: false, recording: false }, extra || {}))
    },

    fail(text, action, phase) {
      if (phase !== 'retry' && phase !== 'failed') this.cleanup()
      this.show(phase || 'error', {
        message: text,
        action: action || '',
        actionLabel: action ? config.texts[ACTION_LABELS[action]] : '',
      })
    },

    failWith(err) {
      if (err && err.kind === 'wxlogin') return this.fail(config.texts.errors.loginFailed, 'login')
      const { text, action } = explain(err, config.texts)
      if (err && err.status === 410) this.flowState = 'expired'
      if (err && err.status === 409 && err.code === 'LimitExceeded') this.flowState = 'failed'
      return this.fail(text, action)
    },

    cleanup() {
      clearTimeout(this.stopTimer)
      clearTimeout(this.pollTimer)
      this.stopTimer = null
      this.pollTimer = null
      if (this.frameListener || this.vk) this.stopGuidance()
    },
  },
})
