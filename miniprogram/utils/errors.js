// Every failure mapped to what the user reads and what they can do next.
// action: 'reload' (fetch the flow again), 'reRecord', 'reUpload', 'keepWaiting', 'settings',
// 'return' (back to the merchant), 'login' (log in again), or '' (nothing to do here).

function explain(err, texts) {
  const e = texts.errors
  if (!err) return { text: e.server, action: 'reload' }
  if (err.kind === 'network') {
    const timedOut = /timeout/i.test(err.errMsg || '')
    return { text: timedOut ? e.timeout : e.network, action: 'reload' }
  }
  if (err.kind === 'protocol') return { text: e.server, action: 'reload' }
  const code = err.code || ''
  switch (err.status) {
    case 410:
      return { text: e.expired, action: 'return' }
    case 403:
      return { text: e.boundToAnother, action: '' }
    case 404:
      return { text: e.unknownToken, action: '' }
    case 409:
      if (code === 'LimitExceeded') return { text: e.attemptsUsedUp, action: 'return' }
      if (code === 'FailedOperation.FlowFinished') return { text: e.finished, action: 'return' }
      if (code === 'FailedOperation.AttemptInProgress') return { text: e.inProgress, action: 'reload' }
      if (code === 'InvalidParameterValue.ChallengeUsed') return { text: e.challengeUsed, action: 'reload' }
      return { text: e.server, action: 'reload' }
    case 413:
      return { text: e.videoTooLarge, action: 'reload' }
    case 502:
    case 503:
      if (code.indexOf('WeChat') >= 0) return { text: e.wechatUnavailable, action: 'login' }
      return { text: e.server, action: 'reload' }
    default:
      break
  }
  if (code === 'InvalidParameterValue.WeChatCodeUsed' || code === 'InvalidParameterValue.WeChatCodeInvalid') {
    return { text: e.loginFailed, action: 'login' }
  }
  if (code.indexOf('UnsupportedOperation') === 0) return { text: e.notConfigured, action: '' }
  if (code.indexOf('FailedOperation.Video') === 0 || code === 'InvalidParameter') {
    return { text: e.videoInvalid, action: 'reload' }
  }
  return { text: e.server, action: 'reload' }
}

module.exports = { explain }
