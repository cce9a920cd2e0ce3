// miniprogram-simulate installs its own wx; tests replace the APIs they use at the boundary
// (see helpers/wx.js). getApp is the mini-program's global; a test may swap globalData.
require('miniprogram-simulate')

global.__app = { globalData: { launch: {} } }
global.getApp = () => global.__app
