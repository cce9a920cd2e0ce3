// Remembers how the mini-program was opened: from another mini-program (referrerInfo.appId, with
// extraData.token) it returns there at the end with wx.navigateBackMiniProgram.
App({
  globalData: { launch: {} },
  onLaunch(options) {
    this.globalData.launch = options || {}
  },
  onShow(options) {
    // Opened again (e.g. from another mini-program while already running): the latest entry wins.
    if (options && options.referrerInfo && options.referrerInfo.appId) this.globalData.launch = options
  },
})
