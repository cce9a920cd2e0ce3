// The default end page (config.donePage) when the verification was not opened from another
// mini-program. Merchants usually point donePage at their own page instead; the token is in the query
// and the result must be read on the merchant's server (GetDetectInfoEnhanced), not trusted from here.
const config = require('../../config')

Component({
  data: { state: '', text: '', hint: '' },
  methods: {
    onLoad(query) {
      const state = (query && query.state) || ''
      const e = config.texts.errors
      const text = state === 'passed' ? config.texts.passed : state === 'expired' ? e.expired : state === 'failed' ? e.failedFinal : e.finished
      this.setData({ state, text, hint: state === 'passed' ? '' : config.texts.doneHint })
    },
  },
})
