// Consent and instructions before the camera opens. Emits "agree" or "decline".
const PROMPTS = { none: 'silentPrompt', silent: 'silentPrompt', action: 'actionPrompt', digit: 'digitPrompt', light: 'lightPrompt', flash: 'flashPrompt' }

Component({
  properties: {
    texts: { type: Object, value: {} },
    mode: {
      type: String,
      value: 'silent',
      observer() {
        this.refresh()
      },
    },
  },
  data: { modePrompt: '' },
  lifetimes: {
    attached() {
      this.refresh()
    },
  },
  methods: {
    refresh() {
      const key = PROMPTS[this.data.mode] || 'silentPrompt'
      this.setData({ modePrompt: (this.data.texts && this.data.texts[key]) || '' })
    },
    onAgree() {
      this.triggerEvent('agree')
    },
    onDecline() {
      this.triggerEvent('decline')
    },
  },
})
