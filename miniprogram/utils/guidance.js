// Live guidance from camera frames: light from the pixels, face presence and distance from the
// VisionKit face anchors where the base library has them. Pure functions; the page wires them up.

// Mean luma of the central region of an RGBA frame, sampling every `stride`-th pixel.
function brightness(frame, stride = 8) {
  const { width, height } = frame
  const data = new Uint8Array(frame.data)
  const x0 = Math.floor(width / 4)
  const x1 = Math.ceil((width * 3) / 4)
  const y0 = Math.floor(height / 4)
  const y1 = Math.ceil((height * 3) / 4)
  let sum = 0
  let n = 0
  for (let y = y0; y < y1; y += stride) {
    for (let x = x0; x < x1; x += stride) {
      const i = (y * width + x) * 4
      sum += 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]
      n += 1
    }
  }
  return n ? sum / n : 0
}

// face: null (unknown: no detector), false (none seen), or { x, y, width, height } normalised 0..1.
function advise({ luma, face }) {
  if (face === false) return 'noFace'
  if (face) {
    if (face.width < 0.25) return 'tooFar'
    if (face.width > 0.75) return 'tooClose'
    const cx = face.x + face.width / 2
    const cy = face.y + face.height / 2
    if (Math.abs(cx - 0.5) > 0.2 || Math.abs(cy - 0.5) > 0.25) return 'offCentre'
  }
  if (luma < 50) return 'tooDark'
  if (luma > 225) return 'tooBright'
  return 'good'
}

module.exports = { brightness, advise }
