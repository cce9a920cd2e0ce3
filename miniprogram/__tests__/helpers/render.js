const path = require('path')
const simulate = require('miniprogram-simulate')

const ROOT = path.join(__dirname, '..', '..')

// simulate.load runs each component's JS through require; jest caches modules per test file, so a
// component already loaded as another's child would not register again. Each load gets a fresh
// module registry. Render as often as needed.
function load(rel) {
  let id
  jest.isolateModules(() => {
    id = simulate.load(path.join(ROOT, rel), { rootPath: ROOT, compiler: 'simulate' })
  })
  return id
}

function mount(id, props) {
  const comp = simulate.render(id, props)
  comp.attach(document.createElement('parent-wrapper'))
  return comp
}

function text(comp, selector) {
  const node = comp.querySelector(selector)
  return node ? node.dom.textContent.trim() : null
}

function texts(comp, selector) {
  return comp.querySelectorAll(selector).map((n) => n.dom.textContent.trim())
}

// Let promises and zero-delay callbacks run (works with jest's modern fake timers).
async function flush(ms = 0) {
  await jest.advanceTimersByTimeAsync(ms)
  await jest.advanceTimersByTimeAsync(0)
}

module.exports = { load, mount, text, texts, flush, ROOT }
