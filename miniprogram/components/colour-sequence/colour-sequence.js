// The light/flash challenge: each colour shown full screen at its issued offset from the start of
// recording, for its issued duration. Every timer is set from the same start, so no drift adds up.
// Emits "finished" when the last colour has been shown.
Component({
  properties: {
    steps: { type: Array, value: [] }, // [{ atMs, colour, durationMs }] from utils/plan.js
    playing: {
      type: Boolean,
      value: false,
      observer(playing) {
        if (playing) this.play()
        else this.halt()
      },
    },
  },
  data: { colour: '' },
  lifetimes: {
    detached() {
      this.halt()
    },
  },
  methods: {
    play() {
      this.halt()
      const steps = this.data.steps || []
      this.timers = steps.map((step) => setTimeout(() => this.setData({ colour: step.colour }), step.atMs))
      const last = steps[steps.length - 1]
      const end = last ? last.atMs + last.durationMs : 0
      this.timers.push(
        setTimeout(() => {
          this.setData({ colour: '' })
          this.triggerEvent('finished')
        }, end)
      )
    },
    halt() {
      ;(this.timers || []).forEach(clearTimeout)
      this.timers = []
      if (this.data.colour) this.setData({ colour: '' })
    },
  },
})
