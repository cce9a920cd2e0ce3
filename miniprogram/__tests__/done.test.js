const config = require('../config')
const { load, mount, text } = require('./helpers/render')

const doneId = load('pages/done/done')

test.each([
  ['passed', config.texts.passed, ''],
  ['failed', config.texts.errors.failedFinal, config.texts.doneHint],
  ['expired', config.texts.errors.expired, config.texts.doneHint],
])('the done page shows the %s state', (state, result, hint) => {
  const page = mount(doneId)
  page.instance.onLoad({ token: 'T', state })
  expect(text(page, '.result')).toBe(result)
  expect(text(page, '.hint')).toBe(hint)
})
