// How long to record for a challenge, and when each prompt or colour shows (ms from recording start).

function colourSteps(challenge) {
  const steps = []
  let at = Number(challenge.start_ms) || 0
  const colours = challenge.colours || []
  const durations = challenge.durations_ms || []
  for (let i = 0; i < colours.length; i++) {
    const duration = Number(durations[i]) || 0
    steps.push({ atMs: at, colour: colours[i], durationMs: duration })
    at += duration
  }
  return steps
}

function actionSteps(challenge, timings) {
  const names = challenge.action_names || []
  return names.map((name, i) => ({ atMs: timings.actionLeadMs + i * timings.actionStepMs, name }))
}

function recordPlan(challenge, timings) {
  const kind = challenge ? challenge.kind : 'none'
  if (kind === 'light' || kind === 'flash') {
    const steps = colourSteps(challenge)
    const last = steps[steps.length - 1]
    const end = last ? last.atMs + last.durationMs : Number(challenge.start_ms) || 0
    return { durationMs: end + timings.colourTailMs, colours: steps, actions: [] }
  }
  if (kind === 'action') {
    const actions = actionSteps(challenge, timings)
    return { durationMs: timings.actionLeadMs + actions.length * timings.actionStepMs, colours: [], actions }
  }
  if (kind === 'digit') return { durationMs: timings.digitRecordMs, colours: [], actions: [] }
  return { durationMs: timings.silentRecordMs, colours: [], actions: [] }
}

module.exports = { recordPlan, colourSteps }
