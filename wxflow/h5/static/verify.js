/* wxflow H5 verification page: consent -> camera -> challenge + recording -> upload -> result.
 * Plain ES2017, no dependencies, no external requests: it talks only to the device API on this origin.
 * Screens are <section id="screen-NAME">; body[data-screen] names the one shown (tests read it). */
(function () {
  'use strict';

  var boot = JSON.parse(document.getElementById('boot').textContent);
  var T = boot.strings;
  var $ = function (id) { return document.getElementById(id); };

  var state = {
    flow: null,          // the device API's flow view
    challenge: null,     // the challenge being answered
    stream: null,        // the camera MediaStream
    blob: null,          // the recording, kept until it is accepted (a network retry re-sends it)
    filename: 'attempt.webm',
    attemptId: null,
    hintTimer: null,
    softLight: false,
  };

  // ---- screens ------------------------------------------------------------------------------

  function show(name) {
    var sections = document.querySelectorAll('section.screen');
    for (var i = 0; i < sections.length; i++) sections[i].hidden = sections[i].id !== 'screen-' + name;
    document.body.setAttribute('data-screen', name);
    var h = $('screen-' + name).querySelector('h1');
    if (h) h.focus({ preventScroll: true });
    if (name !== 'camera') stopHints();
    window.scrollTo(0, 0);
  }

  function fmt(text, vars) {
    return text.replace(/\{(\w+)\}/g, function (_, k) { return String(vars[k]); });
  }

  function outcomeText(message) {
    return boot.outcomes[message] || message || T.generic_fail;
  }

  function setBack(id, url) {
    var a = $(id);
    if (url) { a.href = url; a.hidden = false; } else { a.hidden = true; }
  }

  function actionLabel(name) { return T['act_' + name] || name; }

  // ---- the flow -----------------------------------------------------------------------------

  function api(path, options) {
    return fetch(boot.api + (path || ''), Object.assign({ credentials: 'same-origin', cache: 'no-store' }, options));
  }

  function errorScreen(status, code) {
    if (status === 404) return show('invalid');
    if (status === 403) return show('bound');
    if (status === 410) return show('expired');
    if (code === 'LimitExceeded') return show('usedup');
    return show('invalid');
  }

  function route(flow) {
    state.flow = flow;
    if (flow.state === 'passed') { setBack('ended-back', flow.redirect_url); return show('ended'); }
    if (flow.state === 'expired') return show('expired');
    if (flow.state === 'failed') { setBack('usedup-back', flow.redirect_url); return show('usedup'); }
    // No challenge on a live flow: an attempt is still being judged (it may be the last one).
    if (!flow.challenge) return waitForFlow();
    state.challenge = flow.challenge;
    renderConsent(flow);
    show('consent');
  }

  function reloadFlow() {
    return api('').then(function (r) {
      if (!r.ok) return r.json().catch(function () { return {}; }).then(function (e) { errorScreen(r.status, e.error_code); });
      return r.json().then(route);
    }).catch(function () { show('network'); state.networkAction = reloadFlow; });
  }

  function waitForFlow() {
    show('waiting');
    var tries = 0;
    (function poll() {
      api('').then(function (r) { return r.ok ? r.json() : null; }).then(function (flow) {
        if (flow && (flow.challenge || flow.state === 'passed' || flow.state === 'failed' || flow.state === 'expired')) {
          return route(flow);
        }
        tries += 1;
        $('waiting-slow').hidden = tries < 30;
        setTimeout(poll, 1000);
      }).catch(function () { setTimeout(poll, 2000); });
    })();
  }

  // ---- consent ------------------------------------------------------------------------------

  function renderConsent(flow) {
    var mode = flow.liveness_mode;
    $('mode-text').textContent = T['mode_' + mode] || T.mode_silent;
    var colourful = mode === 'light' || mode === 'flash';
    $('photosensitive').hidden = !colourful;
    $('brightness-tip').hidden = !colourful;
    $('attempts-left').textContent = fmt(T.attempts_left, { n: flow.attempts_left });
    document.body.setAttribute('data-mode', mode);
  }

  $('agree').addEventListener('change', function () { $('start').disabled = !this.checked; });
  $('soft-light').addEventListener('change', function () { state.softLight = this.checked; });
  $('start').addEventListener('click', afterConsent);
  $('denied-retry').addEventListener('click', openCamera);

  // ---- the ID card (rules with ID-card OCR): portrait side, then emblem side, then the camera ----

  function cardStep() { return (state.flow && state.flow.id_card) || { required: false, done: true }; }

  function afterConsent() {
    var step = cardStep();
    if (step.required && !step.done) return showCard(step.front ? 'back' : 'front');
    openCamera();
  }

  function showCard(side) {
    state.cardSide = side;
    document.body.setAttribute('data-card-side', side);
    $('card-h').textContent = side === 'front' ? T.card_front_h : T.card_back_h;
    $('card-p').textContent = side === 'front' ? T.card_front_p : T.card_back_p;
    $('card-error').hidden = true;
    $('card-fields').hidden = true;
    $('card-preview').hidden = true;
    $('card-next').hidden = true;
    $('card-note').textContent = T.card_note;
    $('card-pick-text').textContent = T.card_take;
    show('card');
  }

  var CARD_ERRORS = {
    'FailedOperation.OcrFailed': 'card_unreadable',
    'FailedOperation.ImageDecodeFailed': 'card_unreadable',
    'FailedOperation.IdFormatError': 'card_bad_number',
    'FailedOperation.NameFormatError': 'card_unreadable',
    'FailedOperation.IdCardWrongSide': 'card_wrong_side',
    'FailedOperation.IdCardMismatch': 'card_mismatch',
    'FailedOperation.ImageSizeTooLarge': 'card_too_large',
  };

  function cardError(text) {
    var el = $('card-error');
    el.textContent = text;
    el.hidden = false;
    document.body.removeAttribute('data-card-busy');
    $('card-pick-text').textContent = T.card_retake;
  }

  // Phone photos are large: send the card at most 1600 px on its long side, as JPEG.
  function shrink(file) {
    return new Promise(function (resolve) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () {
        var scale = Math.min(1, 1600 / Math.max(img.naturalWidth, img.naturalHeight));
        var canvas = document.createElement('canvas');
        canvas.width = Math.round(img.naturalWidth * scale);
        canvas.height = Math.round(img.naturalHeight * scale);
        canvas.getContext('2d').drawImage(img, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(url);
        canvas.toBlob(function (blob) { resolve(blob || file); }, 'image/jpeg', 0.9);
      };
      img.onerror = function () { URL.revokeObjectURL(url); resolve(file); };
      img.src = url;
    });
  }

  function field(dl, label, value) {
    var dt = document.createElement('dt');
    dt.textContent = label;
    var dd = document.createElement('dd');
    dd.textContent = value || '—';
    dl.appendChild(dt);
    dl.appendChild(dd);
  }

  function showReading(side, reading) {
    var dl = $('card-fields');
    dl.textContent = '';
    if (side === 'front') {
      field(dl, T.card_name, reading.name);
      field(dl, T.card_id, reading.id_card);
    } else {
      field(dl, T.card_authority, reading.authority);
      field(dl, T.card_valid, reading.valid_date);
    }
    dl.hidden = false;
    $('card-note').textContent = T.card_check;
    $('card-pick-text').textContent = T.card_retake;
    $('card-next').textContent = reading.id_card_step.done ? T.card_next_face : T.card_next_back;
    $('card-next').hidden = false;
    document.body.removeAttribute('data-card-busy');
    document.body.setAttribute('data-card-read', side);
    $('card-next').focus({ preventScroll: true });
  }

  $('card-file').addEventListener('change', function () {
    var file = this.files && this.files[0];
    this.value = '';
    if (!file) return;
    var side = state.cardSide;
    $('card-error').hidden = true;
    $('card-fields').hidden = true;
    $('card-next').hidden = true;
    $('card-pick-text').textContent = T.card_reading;
    document.body.setAttribute('data-card-busy', 'true');
    shrink(file).then(function (blob) {
      $('card-preview').src = URL.createObjectURL(blob);
      $('card-preview').hidden = false;
      var form = new FormData();
      form.append('image', blob, side + '.jpg');
      return api('/id-card/' + side, { method: 'POST', body: form });
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (r.ok) {
          state.flow.id_card = body.id_card_step;
          return showReading(side, body);
        }
        var code = body.error_code || '';
        if (r.status === 410) return show('expired');
        if (r.status === 403) return show('bound');
        if (r.status === 404 && code === 'InvalidParameterValue.BizTokenIllegal') return show('invalid');
        if (code === 'FailedOperation.IdentityNotVerified') {
          $('fail-message').textContent = T.card_identity_failed;
          return api('').then(function (f) { return f.json(); }).then(function (flow) {
            setBack('fail-back', flow.redirect_url);
            show('fail');
          }).catch(function () { show('fail'); });
        }
        if (r.status === 409) return reloadFlow();  // finished meanwhile, or the face step has begun
        if (r.status >= 500) return cardError(T.card_busy);
        cardError(T[CARD_ERRORS[code] || 'card_unreadable']);
      });
    }).catch(function () { cardError(T.card_network); });
  });

  $('card-next').addEventListener('click', function () {
    var step = cardStep();
    if (!step.done) return showCard(step.front ? 'back' : 'front');
    openCamera();
  });

  // ---- camera and hints -----------------------------------------------------------------------

  function supported() {
    return !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder);
  }

  function openCamera() {
    if (!supported()) return showFallback();
    var wantAudio = state.flow && state.flow.liveness_mode === 'digit';
    var constraints = {
      video: { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 } },
      audio: wantAudio,
    };
    navigator.mediaDevices.getUserMedia(constraints).then(function (stream) {
      state.stream = stream;
      $('preview').srcObject = stream;
      renderChallenge($('challenge'));
      $('record').hidden = false;
      $('record').disabled = false;
      $('record-progress').hidden = true;
      $('camera-h').textContent = T.camera_h;
      show('camera');
      startHints();
    }).catch(function (err) {
      var name = err && err.name;
      if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') return show('denied');
      showFallback();
    });
  }

  function stopCamera() {
    if (state.stream) state.stream.getTracks().forEach(function (t) { t.stop(); });
    state.stream = null;
  }

  function renderChallenge(box) {
    box.textContent = '';
    var c = state.challenge;
    if (!c) return;
    if (c.kind === 'action') {
      var p = document.createElement('p');
      p.textContent = T.challenge_action;
      box.appendChild(p);
      var ol = document.createElement('ol');
      ol.className = 'actions';
      (c.action_names || []).forEach(function (name, i) {
        var li = document.createElement('li');
        li.textContent = actionLabel(name);
        li.setAttribute('data-step', String(i));
        ol.appendChild(li);
      });
      box.appendChild(ol);
    } else if (c.kind === 'digit') {
      var label = document.createElement('p');
      label.textContent = T.challenge_digit;
      var digits = document.createElement('p');
      digits.className = 'digits';
      digits.textContent = c.code;
      digits.setAttribute('aria-label', c.code.split('').join(' '));
      box.appendChild(label);
      box.appendChild(digits);
    } else if (c.kind === 'light' || c.kind === 'flash') {
      var b = document.createElement('p');
      b.className = 'brightness';
      b.textContent = T.brightness;
      box.appendChild(b);
    }
  }

  // Hints from the preview, computed here: brightness (luma), motion (frame difference) and the
  // face's presence and size from skin-tone pixels (YCbCr box) inside and around the oval. The
  // browser's FaceDetector is used instead when it exists. Hints advise; they never block recording.
  var hintCanvas = document.createElement('canvas');
  hintCanvas.width = 48; hintCanvas.height = 64;
  var hintCtx = hintCanvas.getContext('2d', { willReadFrequently: true });
  var lastLuma = null;
  var faceDetector = null;
  try { if ('FaceDetector' in window) faceDetector = new window.FaceDetector({ fastMode: true, maxDetectedFaces: 2 }); } catch (e) { faceDetector = null; }

  function startHints() {
    stopHints();
    lastLuma = null;
    state.hintTimer = setInterval(updateHint, 300);
  }

  function stopHints() {
    if (state.hintTimer) clearInterval(state.hintTimer);
    state.hintTimer = null;
  }

  function updateHint() {
    var video = $('preview');
    if (!video.videoWidth) return;
    var W = hintCanvas.width, H = hintCanvas.height;
    // Centre crop of the video to the canvas aspect (portrait), like the CSS object-fit: cover.
    var vw = video.videoWidth, vh = video.videoHeight, sw = vw, sh = vh;
    if (vw / vh > W / H) sw = vh * W / H; else sh = vw * H / W;
    hintCtx.drawImage(video, (vw - sw) / 2, (vh - sh) / 2, sw, sh, 0, 0, W, H);
    var px = hintCtx.getImageData(0, 0, W, H).data;
    var luma = new Float32Array(W * H), sum = 0, skinIn = 0, inside = 0, skinAll = 0, motion = 0;
    for (var y = 0; y < H; y++) {
      for (var x = 0; x < W; x++) {
        var i = (y * W + x), r = px[i * 4], g = px[i * 4 + 1], b = px[i * 4 + 2];
        var Y = 0.299 * r + 0.587 * g + 0.114 * b;
        var cb = 128 - 0.1687 * r - 0.3313 * g + 0.5 * b, cr = 128 + 0.5 * r - 0.4187 * g - 0.0813 * b;
        luma[i] = Y; sum += Y;
        var skin = cr > 135 && cr < 180 && cb > 80 && cb < 135 && Y > 40;
        var dx = (x - W / 2) / (W * 0.36), dy = (y - H * 0.45) / (H * 0.34);
        var inOval = dx * dx + dy * dy <= 1;
        if (inOval) { inside++; if (skin) skinIn++; }
        if (skin) skinAll++;
        if (lastLuma) motion += Math.abs(Y - lastLuma[i]);
      }
    }
    var mean = sum / (W * H), face = skinIn / inside, total = skinAll / (W * H);
    motion = lastLuma ? motion / (W * H) : 0;
    lastLuma = luma;
    var hint;
    if (mean < 50) hint = 'dark';
    else if (face < 0.12) hint = 'no_face';
    else if (total < 0.10) hint = 'far';
    else if (total > 0.60 || face > 0.95) hint = 'close';
    else if (motion > 14) hint = 'still';
    else hint = 'ok';
    if (faceDetector) {
      faceDetector.detect(video).then(function (faces) {
        if (!faces.length) return setHint('no_face');
        var box = faces[0].boundingBox, frac = box.width / vw;
        setHint(frac < 0.25 ? 'far' : frac > 0.7 ? 'close' : hint === 'dark' || hint === 'still' ? hint : 'ok');
      }).catch(function () { setHint(hint); });
    } else {
      setHint(hint);
    }
  }

  function setHint(name) {
    var el = $('hint');
    el.textContent = T['hint_' + name];
    el.setAttribute('data-hint', name);
  }

  // ---- recording ----------------------------------------------------------------------------

  function pickMime() {
    var types = ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm', 'video/mp4;codecs=avc1', 'video/mp4'];
    for (var i = 0; i < types.length; i++) {
      if (MediaRecorder.isTypeSupported && MediaRecorder.isTypeSupported(types[i])) return types[i];
    }
    return '';
  }

  function recordMs(c) {
    if (c && (c.kind === 'light' || c.kind === 'flash')) {
      return (c.start_ms || 0) + (c.durations_ms || []).reduce(function (a, b) { return a + b; }, 0) + 600;
    }
    return boot.record_ms[state.flow.liveness_mode] || 3500;
  }

  $('record').addEventListener('click', startRecording);

  function startRecording() {
    var c = state.challenge;
    var mime = pickMime();
    var recorder;
    try {
      recorder = new MediaRecorder(state.stream, mime ? { mimeType: mime, videoBitsPerSecond: 1500000 } : undefined);
    } catch (e) {
      stopCamera();
      return showFallback();
    }
    var chunks = [];
    recorder.ondataavailable = function (e) { if (e.data && e.data.size) chunks.push(e.data); };
    var total = recordMs(c);
    recorder.onstop = function () {
      var type = recorder.mimeType || mime || 'video/webm';
      state.blob = new Blob(chunks, { type: type.split(';')[0] });
      state.filename = type.indexOf('mp4') >= 0 ? 'attempt.mp4' : 'attempt.webm';
      stopLight();
      stopCamera();
      upload();
    };
    $('record').hidden = true;
    $('record-progress').hidden = false;
    $('camera-h').textContent = T.recording;
    document.body.setAttribute('data-recording', 'true');
    recorder.start(500);
    var started = performance.now();
    if (c && (c.kind === 'light' || c.kind === 'flash')) playLight(c);
    (function tick() {
      var elapsed = performance.now() - started;
      $('record-fill').style.width = Math.min(100, (elapsed / total) * 100) + '%';
      if (c && c.kind === 'action') {
        var steps = document.querySelectorAll('#challenge li');
        var slot = Math.min(steps.length - 1, Math.floor(elapsed / (total / Math.max(steps.length, 1))));
        for (var i = 0; i < steps.length; i++) steps[i].className = i === slot ? 'now' : i < slot ? 'done' : '';
      }
      if (elapsed >= total) {
        document.body.removeAttribute('data-recording');
        if (recorder.state !== 'inactive') recorder.stop();
        return;
      }
      requestAnimationFrame(tick);
    })();
  }

  // Light and flash modes: the screen itself is the light source, at the issued colours and timings.
  var lightTimers = [];

  function playLight(c) {
    var el = $('light');
    el.classList.toggle('soft', state.softLight);
    $('light-preview').srcObject = state.stream;
    el.style.backgroundColor = '#000000';
    el.hidden = false;
    var at = c.start_ms || 0;
    (c.colours || []).forEach(function (colour, i) {
      lightTimers.push(setTimeout(function () {
        el.style.backgroundColor = colour;
        el.setAttribute('data-colour', colour);
      }, at));
      at += c.durations_ms[i];
    });
    lightTimers.push(setTimeout(function () { el.style.backgroundColor = '#000000'; }, at));
  }

  function stopLight() {
    lightTimers.forEach(clearTimeout);
    lightTimers = [];
    $('light').hidden = true;
    $('light-preview').srcObject = null;
  }

  // ---- fallback: the system camera app through a file input ---------------------------------

  function showFallback() {
    renderChallenge($('fallback-challenge'));
    show('unsupported');
  }

  $('fallback-file').addEventListener('change', function () {
    var file = this.files && this.files[0];
    if (!file) return;
    state.blob = file;
    state.filename = file.name || 'attempt.mp4';
    this.value = '';
    upload();
  });

  // ---- upload and judging -------------------------------------------------------------------

  $('network-retry').addEventListener('click', function () {
    var action = state.networkAction || upload;
    state.networkAction = null;
    action();
  });

  function upload() {
    show('upload');
    setUploadProgress(0);
    var form = new FormData();
    form.append('challenge_id', state.challenge.id);
    form.append('video', state.blob, state.filename);
    var xhr = new XMLHttpRequest();
    xhr.open('POST', boot.api + '/attempts');
    xhr.timeout = 120000;
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) setUploadProgress(e.loaded / e.total); };
    xhr.onerror = xhr.ontimeout = xhr.onabort = function () {
      state.networkAction = upload;     // keep the recording; the challenge was not used
      show('network');
    };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText || '{}'); } catch (e) { body = {}; }
      if (xhr.status === 202) {
        setUploadProgress(1);
        state.blob = null;
        state.attemptId = body.attempt_id;
        return pollAttempt();
      }
      var code = body.error_code || '';
      if (xhr.status === 410) return show('expired');
      if (xhr.status === 403) return show('bound');
      if (xhr.status === 404) return show('invalid');
      if (code === 'LimitExceeded') return show('usedup');
      if (xhr.status === 409) return waitForFlow();   // already received (a retry after a lost answer) or finished
      if (xhr.status === 413) return retryScreen(T.too_large, null);
      if (xhr.status >= 500) { state.networkAction = upload; return show('network'); }
      return retryScreen(T.upload_refused, null);
    };
    xhr.send(form);
  }

  function setUploadProgress(f) {
    var pct = Math.round(f * 100);
    $('upload-fill').style.width = pct + '%';
    $('upload-bar').setAttribute('aria-valuenow', String(pct));
    $('upload-pct').textContent = pct + '%';
  }

  function pollAttempt() {
    show('waiting');
    var started = Date.now();
    (function poll() {
      api('/attempts/' + encodeURIComponent(state.attemptId)).then(function (r) {
        if (r.status === 410) return show('expired');
        if (!r.ok) throw new Error('status ' + r.status);
        return r.json().then(function (a) {
          if (a.state === 'queued' || a.state === 'running') {
            $('waiting-slow').hidden = Date.now() - started < 30000;
            return setTimeout(poll, 1000);
          }
          finish(a);
        });
      }).catch(function () { setTimeout(poll, 2000); });
    })();
  }

  function finish(a) {
    var outcome = a.outcome || { passed: false, message: '' };
    if (a.flow_state === 'passed' || outcome.passed) {
      if (a.redirect_url) {
        setBack('pass-back', a.redirect_url);
        setTimeout(function () { window.location.assign(a.redirect_url); }, 2500);
      } else {
        $('pass-p').textContent = T.close_p;
      }
      return show('pass');
    }
    if (a.flow_state === 'failed' || a.flow_state === 'expired' || a.attempts_left <= 0) {
      $('fail-message').textContent = outcomeText(outcome.message);
      setBack('fail-back', a.redirect_url);
      return show('fail');
    }
    retryScreen(outcomeText(outcome.message), a.attempts_left);
  }

  function retryScreen(message, left) {
    $('retry-message').textContent = message;
    $('retry-left').textContent = left == null ? '' : fmt(T.attempts_left, { n: left });
    show('retry');
  }

  $('retry').addEventListener('click', function () {
    // A fresh challenge comes with the flow; the camera opens again.
    api('').then(function (r) {
      if (!r.ok) return r.json().catch(function () { return {}; }).then(function (e) { errorScreen(r.status, e.error_code); });
      return r.json().then(function (flow) {
        state.flow = flow;
        if (!flow.challenge) return route(flow);
        state.challenge = flow.challenge;
        openCamera();
      });
    }).catch(function () { state.networkAction = reloadFlow; show('network'); });
  });

  // ---- start ----------------------------------------------------------------------------------

  var initial = boot.initial || {};
  if (initial.oauth) {
    if (boot.token) {
      var a = $('oauth-reopen');
      a.href = '/h5/verify?token=' + encodeURIComponent(boot.token);
      a.hidden = false;
    }
    show('oauth');
  } else if (initial.error) {
    errorScreen(initial.error, initial.error_code);
  } else {
    route(initial);
  }
})();
