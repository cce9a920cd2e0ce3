// The wx boundary, stubbed: network (wx.request, wx.uploadFile), login, permissions, camera,
// navigation. Each stub records what the page asked for and answers asynchronously as WeChat does.
const config = require('../../config')

const SERVER = config.serverUrl.replace(/\/+$/, '')

function later(fn) {
  Promise.resolve().then(fn)
}

function answer(opts, reply) {
  later(() => {
    if (reply.fail) {
      if (opts.fail) opts.fail({ errMsg: reply.fail })
      return
    }
    const data = opts.__upload ? JSON.stringify(reply.body) : reply.body
    if (opts.success) opts.success({ statusCode: reply.status, data, header: {} })
  })
}

function installWx({ auth = { 'scope.camera': true, 'scope.record': true }, grant = true } = {}) {
  const routes = {}
  const requests = []
  const uploads = []
  let codes = 0
  const listener = { start: jest.fn(), stop: jest.fn() }
  const camera = {
    frameCallback: null,
    startRecord: jest.fn((o) => later(() => o.success && o.success())),
    stopRecord: jest.fn((o) => later(() => o.success && o.success({ tempVideoPath: 'wxfile://tmp_6f1c0e2a9b.mp4', tempThumbPath: 'wxfile://tmp_thumb.jpg' }))),
    onCameraFrame: jest.fn((cb) => {
      camera.frameCallback = cb
      return listener
    }),
    listener,
  }

  function replyFor(method, url, req) {
    const path = url.replace(SERVER, '')
    const handler = routes[`${method} ${path}`]
    if (!handler) return { status: 404, body: { code: 404, status: 'Not Found', message: `no stub for ${method} ${path}`, error_code: 'Test.NoStub' } }
    if (Array.isArray(handler)) return handler.length > 1 ? handler.shift() : handler[0]
    return handler(req)
  }

  const stubs = {
    login: jest.fn((o) => {
      codes += 1
      later(() => o.success({ code: `code-${codes}`, errMsg: 'login:ok' }))
    }),
    request: jest.fn((o) => {
      const req = { method: o.method || 'GET', url: o.url, data: o.data, header: o.header || {} }
      requests.push(req)
      answer(o, replyFor(req.method, req.url, req))
      return { abort: jest.fn() }
    }),
    uploadFile: jest.fn((o) => {
      const task = {
        progress: null,
        onProgressUpdate: jest.fn((cb) => {
          task.progress = cb
        }),
        abort: jest.fn(),
        // The test decides when and how the upload ends.
        finish(reply) {
          answer(Object.assign({ __upload: true }, o), reply)
        },
      }
      uploads.push({ url: o.url, filePath: o.filePath, name: o.name, formData: o.formData, header: o.header || {}, task })
      return task
    }),
    getSetting: jest.fn((o) => later(() => o.success({ authSetting: Object.assign({}, auth) }))),
    authorize: jest.fn((o) =>
      later(() => {
        auth[o.scope] = grant
        if (grant) o.success({ errMsg: 'authorize:ok' })
        else o.fail({ errMsg: 'authorize:fail auth deny' })
      })
    ),
    openSetting: jest.fn((o) => later(() => o.success({ authSetting: Object.assign({}, auth) }))),
    createCameraContext: jest.fn(() => camera),
    navigateBackMiniProgram: jest.fn(),
    redirectTo: jest.fn(),
  }
  delete global.wx.createVKSession
  Object.assign(global.wx, stubs)
  return {
    wx: stubs,
    routes,
    requests,
    uploads,
    camera,
    auth,
    on(method, path, handler) {
      routes[`${method} ${path}`] = handler
    },
  }
}

module.exports = { installWx, SERVER }
