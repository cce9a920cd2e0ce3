// The wxflow device API as the mini-program calls it: one client per BizToken.
// After login every device-API call carries the device key as the X-Wxflow-Device header.

const DEVICE_HEADER = 'X-Wxflow-Device'

class ApiError extends Error {
  // kind: 'http' (the server answered with an error), 'network' (no answer), 'protocol' (bad answer)
  constructor(kind, { status = 0, code = '', message = '', errMsg = '' } = {}) {
    super(message || errMsg || kind)
    this.kind = kind
    this.status = status
    this.code = code
    this.errMsg = errMsg
  }
}

function parseBody(data) {
  if (typeof data !== 'string') return data
  try {
    return JSON.parse(data)
  } catch (e) {
    return null
  }
}

function fromResponse(res) {
  const body = parseBody(res.data) || {}
  return new ApiError('http', { status: res.statusCode, code: body.error_code || '', message: body.message || '' })
}

function fromFail(err) {
  return new ApiError('network', { errMsg: (err && err.errMsg) || 'request:fail' })
}

function createClient({ serverUrl, token, timings }) {
  const base = String(serverUrl).replace(/\/+$/, '')
  const flowUrl = `${base}/api/v1/flows/${encodeURIComponent(token)}`
  let deviceKey = null

  function headers() {
    return deviceKey ? { [DEVICE_HEADER]: deviceKey } : {}
  }

  function request(method, url, data) {
    return new Promise((resolve, reject) => {
      wx.request({
        url,
        method,
        data,
        header: Object.assign({ 'content-type': 'application/json' }, headers()),
        timeout: timings.requestTimeoutMs,
        success(res) {
          if (res.statusCode >= 200 && res.statusCode < 300) {
            const body = parseBody(res.data)
            if (body && typeof body === 'object') resolve(body)
            else reject(new ApiError('protocol', { status: res.statusCode, message: 'not JSON' }))
          } else {
            reject(fromResponse(res))
          }
        },
        fail(err) {
          reject(fromFail(err))
        },
      })
    })
  }

  // wx.uploadFile as { task, done }: done resolves the JSON body when accept(status, body) holds.
  function sendFile({ url, filePath, name, formData, accept }) {
    let task = null
    const done = new Promise((resolve, reject) => {
      task = wx.uploadFile({
        url,
        filePath,
        name,
        formData,
        header: headers(),
        timeout: timings.uploadTimeoutMs,
        success(res) {
          const body = parseBody(res.data)
          if (body && accept(res.statusCode, body)) resolve(body)
          else if (res.statusCode >= 200 && res.statusCode < 300) reject(new ApiError('protocol', { status: res.statusCode }))
          else reject(fromResponse(res))
        },
        fail(err) {
          reject(fromFail(err))
        },
      })
    })
    return { task, done }
  }

  return {
    get token() {
      return token
    },
    get deviceKey() {
      return deviceKey
    },

    // POST the wx.login code; the server binds the flow to this WeChat user and returns the key.
    login(code) {
      return request('POST', `${base}/api/v1/wechat/miniprogram/login`, { token, code }).then((body) => {
        if (!body.device_key) throw new ApiError('protocol', { message: 'no device key' })
        deviceKey = body.device_key
        return body
      })
    },

    flow() {
      return request('GET', flowUrl)
    },

    attempt(attemptId) {
      return request('GET', `${flowUrl}/attempts/${encodeURIComponent(attemptId)}`)
    },

    // One side of the ID card ('front' or 'back') as multipart under "image"; resolves what was read.
    // wx.uploadFile always POSTs. A refusal (unreadable, the other side, a bad number) rejects with its code.
    uploadCard(side, filePath) {
      const url = `${flowUrl}/id-card/${encodeURIComponent(side)}`
      return sendFile({ url, filePath, name: 'image', accept: (status, body) => status === 200 && body.id_card_step }).done
    },

    // One recording as multipart: the file under "video", the challenge id as a form field.
    // Returns { task, done }: task.onProgressUpdate / task.abort, done resolves { attempt_id }.
    upload(filePath, challengeId) {
      const formData = { challenge_id: challengeId }
      return sendFile({ url: `${flowUrl}/attempts`, filePath, name: 'video', formData, accept: (status, body) => status === 202 && body.attempt_id })
    },
  }
}

module.exports = { createClient, ApiError, DEVICE_HEADER }
