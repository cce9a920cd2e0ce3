// What the user must do for the issued challenge: digits to read, action prompts in order (each
// shown in turn while recording), the colour sequence (light/flash), or hold still (silent).
const { recordPlan } = require('../../utils/plan')

const PROMPTS = { none: 'silentPrompt', action: 'actionPrompt', digit: 'digitPrompt', light: 'lightPrompt', flash: 'flashPrompt' }

Component({
  properties: {
    challenge: {
      type: Object,
      value: null,
      observer() {
        this.refresh()
      },
    },
    texts: { type: Object, value: {} },
    timings: { type: Object, value: {} },
    recording: {
      type: Boolean,
      value: false,
      observer(recording) {
        if (recording) this.run()
        else this.halt()
      },
    },
  },
  data: { kind: 'none', prompt: '', digits: [], actions: [], current: '', colourSteps: [], step: -1 },
  lifetimes: {
    attached() {
      this.refresh()
    },
    detached() {
      this.halt()
    },
  },
  methods: {
    refresh() {
      const challenge = this.data.challenge || { kind: 'none' }
      const texts = this.data.texts || {}
      const kind = challenge.kind || 'none'
      const plan = recordPlan(challenge, this.timings())
      this.setData({
        kind,
        prompt: texts[PROMPTS[kind] || 'silentPrompt'] || '',
        digits: kind === 'digit' ? String(challenge.code || '').split('') : [],
        colourSteps: plan.colours,
        step: -1,
        current: '',
      })
      this.renderActions()
    },
    timings() {
      const t = this.data.timings || {}
      return {
        actionLeadMs: t.actionLeadMs || 0,
        actionStepMs: t.actionStepMs || 0,
        colourTailMs: t.colourTailMs || 0,
        digitRecordMs: t.digitRecordMs || 0,
        silentRecordMs: t.silentRecordMs || 0,
      }
    },
    actionLabel(name) {
      const names = (this.data.texts && this.data.texts.actionNames) || {}
      return names[name] || name
    },
    renderActions() {
      const challenge = this.data.challenge || {}
      const step = this.data.step
      const actions = (challenge.action_names || []).map((name, i) => ({
        label: `${i + 1}. ${this.actionLabel(name)}`,
        state: step < 0 ? '' : i < step ? 'done' : i === step ? 'current' : '',
      }))
      const name = step >= 0 ? (challenge.action_names || [])[step] : ''
      this.setData({ actions, current: name ? this.actionLabel(name) : '' })
    },
    run() {
      this.halt()
      const challenge = this.data.challenge || {}
      if (challenge.kind !== 'action') return
      const plan = recordPlan(challenge, this.timings())
      this.timers = plan.actions.map((action, i) =>
        setTimeout(() => {
          this.setData({ step: i })
          this.renderActions()
        }, action.atMs)
      )
    },
    halt() {
      ;(this.timers || []).forEach(clearTimeout)
      this.timers = []
      if (this.data.step !== -1) {
        this.setData({ step: -1 })
        this.renderActions()
      }
    },
    onColoursFinished() {
      this.triggerEvent('coloursfinished')
    },
  },
})
