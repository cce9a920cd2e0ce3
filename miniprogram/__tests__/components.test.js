const config = require('../config')
const { load, mount, text, texts, flush } = require('./helpers/render')
const { recordPlan } = require('../utils/plan')

const consentId = load('components/consent/consent')
const challengeId = load('components/challenge/challenge')
const coloursId = load('components/colour-sequence/colour-sequence')

beforeEach(() => jest.useFakeTimers())
afterEach(() => jest.useRealTimers())

describe('consent', () => {
  test('shows the consent, the instructions for the mode, and emits agree / decline on tap', async () => {
    const comp = mount(consentId, { texts: config.texts, mode: 'digit' })
    expect(text(comp, '.consent-title')).toBe(config.texts.consentTitle)
    expect(text(comp, '.consent-body')).toBe(config.texts.consentBody)
    expect(texts(comp, '.consent-point')).toEqual(config.texts.consentPoints)
    expect(text(comp, '.consent-mode')).toBe(config.texts.digitPrompt)

    const agree = jest.fn()
    const decline = jest.fn()
    comp.addEventListener('agree', agree)
    comp.addEventListener('decline', decline)
    comp.querySelector('.agree').dispatchEvent('tap')
    await flush()
    expect(agree).toHaveBeenCalledTimes(1)
    expect(decline).not.toHaveBeenCalled()
    comp.querySelector('.decline').dispatchEvent('tap')
    await flush()
    expect(decline).toHaveBeenCalledTimes(1)
  })

  test('the instructions follow the mode', async () => {
    const comp = mount(consentId, { texts: config.texts, mode: 'flash' })
    expect(text(comp, '.consent-mode')).toBe(config.texts.flashPrompt)
    comp.setData({ mode: 'action' })
    await flush()
    expect(text(comp, '.consent-mode')).toBe(config.texts.actionPrompt)
  })
})

describe('challenge', () => {
  const timings = config.timings

  test('digit mode shows each digit to read', () => {
    const comp = mount(challengeId, { challenge: { id: 'c1', kind: 'digit', code: '4071' }, texts: config.texts, timings })
    expect(texts(comp, '.digit')).toEqual(['4', '0', '7', '1'])
    expect(text(comp, '.prompt')).toBe(config.texts.digitPrompt)
    expect(comp.querySelector('.actions')).toBeFalsy()
  })

  test('silent mode shows only the hold-still prompt', () => {
    const comp = mount(challengeId, { challenge: { id: 'c1', kind: 'none' }, texts: config.texts, timings })
    expect(text(comp, '.prompt')).toBe(config.texts.silentPrompt)
    expect(comp.querySelectorAll('.digit')).toHaveLength(0)
    expect(comp.querySelector('#colours')).toBeFalsy()
  })

  test('action mode lists the actions and prompts each in turn while recording', async () => {
    const challenge = { id: 'c1', kind: 'action', actions: [2, 1], action_names: ['blink', 'open_mouth'], sequence: '2,1' }
    const comp = mount(challengeId, { challenge, texts: config.texts, timings })
    expect(texts(comp, '.action-item')).toEqual(['1. 眨眨眼', '2. 张张嘴'])
    expect(comp.querySelector('.current-action')).toBeFalsy()

    comp.setData({ recording: true })
    await flush(timings.actionLeadMs - 1)
    expect(comp.querySelector('.current-action')).toBeFalsy()
    await flush(1)
    expect(text(comp, '.current-action')).toBe('眨眨眼')
    expect(text(comp, '.action-item.current')).toBe('1. 眨眨眼')
    await flush(timings.actionStepMs)
    expect(text(comp, '.current-action')).toBe('张张嘴')
    expect(text(comp, '.action-item.done')).toBe('1. 眨眨眼')

    comp.setData({ recording: false })
    await flush()
    expect(comp.querySelector('.current-action')).toBeFalsy()
  })

  test('light mode plays the issued colours through the colour sequence while recording', async () => {
    const challenge = { id: 'c1', kind: 'light', colours: ['#FF0000', '#00FF00'], durations_ms: [300, 450], start_ms: 300 }
    const comp = mount(challengeId, { challenge, texts: config.texts, timings })
    expect(text(comp, '.prompt')).toBe(config.texts.lightPrompt)
    const colours = comp.querySelector('#colours')
    expect(colours).toBeTruthy()
    expect(colours.querySelector('.colour-screen')).toBeFalsy()
    comp.setData({ recording: true })
    await flush(300)
    expect(colours.querySelector('.colour-screen').dom.getAttribute('data-colour')).toBe('#FF0000')
  })
})

describe('colour sequence', () => {
  test('shows each colour full screen at its issued offset and for its issued duration', async () => {
    const challenge = { kind: 'flash', colours: ['#FF0000', '#0000FF', '#FFFFFF'], durations_ms: [300, 599, 420], start_ms: 2000 }
    const steps = recordPlan(challenge, config.timings).colours
    const comp = mount(coloursId, { steps })
    const finished = jest.fn()
    comp.addEventListener('finished', finished)
    const shown = () => {
      const node = comp.querySelector('.colour-screen')
      return node ? node.dom.getAttribute('data-colour') : ''
    }

    comp.setData({ playing: true })
    await flush(1999)
    expect(shown()).toBe('') // flash: nothing before start_ms
    await flush(1)
    expect(shown()).toBe('#FF0000')
    expect(comp.querySelector('.colour-screen').dom.getAttribute('style')).toContain('#FF0000')
    await flush(299)
    expect(shown()).toBe('#FF0000')
    await flush(1)
    expect(shown()).toBe('#0000FF')
    await flush(599)
    expect(shown()).toBe('#FFFFFF')
    expect(finished).not.toHaveBeenCalled()
    await flush(420)
    expect(shown()).toBe('')
    expect(finished).toHaveBeenCalledTimes(1)
  })

  test('stopping halts the sequence', async () => {
    const comp = mount(coloursId, { steps: [{ atMs: 0, colour: '#FF0000', durationMs: 500 }, { atMs: 500, colour: '#00FF00', durationMs: 500 }] })
    comp.setData({ playing: true })
    await flush(10)
    expect(comp.querySelector('.colour-screen').dom.getAttribute('data-colour')).toBe('#FF0000')
    comp.setData({ playing: false })
    await flush(2000)
    expect(comp.querySelector('.colour-screen')).toBeFalsy()
  })
})
