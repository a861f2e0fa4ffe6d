// The guest page (GET /guest#<token>): one more person joins a running call from an invitation link.
// Plain DOM on the script-tag SDK (window.Parley). Names and messages are only ever written with
// textContent. The token rides in the URL fragment, which browsers never send to a server; the page
// takes it out of the address bar at once so it does not linger in history or get shared by accident.
(function () {
  'use strict';

  /** Keeps the link for this tab only, so a reload can rejoin (the SDK resumes the same guest). */
  var TOKEN_KEY = 'parley-guest:token';
  /** Set while this tab is in the call, with the name used: a reload rejoins without asking again. */
  var JOINED_KEY = 'parley-guest:joined-as';
  var CALL_DIV_ID = 'guest-call-media';

  var els = {
    title: document.getElementById('guest-title'),
    status: document.getElementById('guest-status'),
    problem: document.getElementById('guest-problem'),
    joinView: document.getElementById('join-view'),
    form: document.getElementById('join-form'),
    name: document.getElementById('guest-name'),
    nameProblem: document.getElementById('name-problem'),
    preview: document.getElementById('preview-video'),
    previewNote: document.getElementById('preview-note'),
    previewMic: document.getElementById('preview-mic'),
    previewCamera: document.getElementById('preview-camera'),
    check: document.getElementById('device-check'),
    joinButton: document.getElementById('join-button'),
    callView: document.getElementById('call-view'),
    people: document.getElementById('people'),
    mic: document.getElementById('call-mic'),
    camera: document.getElementById('call-camera'),
    share: document.getElementById('call-share'),
    devices: document.getElementById('call-devices'),
    devicePanel: document.getElementById('call-device-panel'),
    pickers: {
      camera: document.getElementById('call-pick-camera'),
      microphone: document.getElementById('call-pick-microphone'),
      speaker: document.getElementById('call-pick-speaker'),
    },
    speakerRow: document.getElementById('call-pick-speaker-row'),
    leave: document.getElementById('call-leave'),
    endedView: document.getElementById('ended-view'),
    rejoinView: document.getElementById('rejoin-view'),
    rejoinButton: document.getElementById('rejoin-button'),
    endedDetail: document.getElementById('ended-detail'),
  };

  /** What to tell the guest for each refusal of the link (ParleyError codes). `retry`: the same link may still work. */
  var REFUSALS = {
    invite_expired: { text: 'This invitation has expired; ask for a new link.', retry: false },
    invite_used: { text: 'This invitation has already been used: each link lets one person in. Ask for a new link.', retry: false },
    unauthorized: { text: 'This invitation link is not valid. Check that you opened the whole link, or ask for a new one.', retry: false },
    capacity: { text: 'The call is full right now. Try again when someone has left, or ask the person who invited you.', retry: true },
    conflict: { text: 'This call is over. Ask for a new link if you still need to talk.', retry: false },
    rate_limited: { text: 'Too many attempts. Wait a moment, then try again.', retry: true },
    unavailable: { text: 'The call service cannot be reached. Check your connection and try again.', retry: true },
    timeout: { text: 'The call service did not answer in time. Try again.', retry: true },
  };

  /** What to tell the guest when sharing the screen is refused (ParleyError codes of startScreenShare). */
  var SHARE_REFUSALS = {
    screen_share_busy: 'Someone else is sharing their screen; one screen at a time. You can share when they stop.',
    forbidden: 'The screen was not shared: the choice was cancelled or the browser refused.',
    unavailable: 'This browser cannot share a screen.',
  };

  /** What to tell the guest when a device cannot be switched to (ParleyError codes of setDevices). */
  var DEVICE_REFUSALS = {
    device_not_found: 'That device is no longer there; pick another.',
    not_supported: 'This browser cannot choose the speaker.',
    unavailable: 'That device could not be started; pick another.',
  };

  /** The kinds of device, with the list each comes in (Parley.listDevices) and the word for an unnamed one. */
  var KINDS = [
    { kind: 'camera', list: 'cameras', word: 'Camera' },
    { kind: 'microphone', list: 'microphones', word: 'Microphone' },
    { kind: 'speaker', list: 'speakers', word: 'Speaker' },
  ];

  /** This browser can send sound to a chosen speaker. */
  var CAN_PICK_SPEAKER = typeof HTMLMediaElement !== 'undefined' && typeof HTMLMediaElement.prototype.setSinkId === 'function';

  /** Why the call ended for this guest, as a sentence. */
  function endedText(event) {
    var by = event.by && event.by.name ? event.by.name : null;
    switch (event.reason) {
      case 'left':
        return 'You left the call.';
      case 'removed':
        return by ? by + ' removed you from the call.' : 'You were removed from the call.';
      case 'hangup':
        return by ? by + ' ended the call.' : 'The call was ended.';
      case 'closed':
        return 'The conversation was closed.';
      case 'failed':
        return 'The connection was lost.';
      case 'media-denied':
        return 'The camera and microphone were blocked.';
      default:
        return '';
    }
  }

  var token = null;
  var guest = null;
  var previewStream = null;
  /** The open pre-call check, and how many were opened (one that opens after the page moved on closes). */
  var check = null;
  var checkRun = 0;
  /** The devices picked in the check, for the call (and for the check again after a failed join). */
  var chosen = {};
  /** The help shown over the preview for a device that could not be opened. */
  var previewHelp = '';
  var joinMuted = false;
  var joinCameraOff = false;
  var unbind = [];

  function remember(key, value) {
    try {
      if (value === null) sessionStorage.removeItem(key);
      else sessionStorage.setItem(key, value);
    } catch (_) {
      /* storage unavailable: a reload simply asks for the link again */
    }
  }

  function recall(key) {
    try {
      return sessionStorage.getItem(key);
    } catch (_) {
      return null;
    }
  }

  function setStatus(text) {
    els.status.textContent = text;
  }

  function setProblem(text) {
    els.problem.textContent = text || '';
  }

  function show(view) {
    els.joinView.hidden = view !== 'join';
    els.callView.hidden = view !== 'call';
    els.endedView.hidden = view !== 'ended';
    els.rejoinView.hidden = view !== 'rejoin';
    document.body.dataset.view = view;
  }

  /** The link cannot be used (or there is none): say why, and offer nothing that cannot work. */
  function refuse(title, text) {
    stopPreview();
    show('none');
    els.title.textContent = title;
    setStatus('');
    setProblem(text);
    remember(TOKEN_KEY, null);
    remember(JOINED_KEY, null);
  }

  // ---------------------------------------------------------------- the check before joining

  /**
   * The pre-call check (the SDK's DeviceCheck: microphone level, test sound, camera, microphone and speaker
   * pickers) draws into #device-check; its camera stream is shown in this page's own preview frame. What is
   * picked there is what the call opens (`call.devices` of joinAsGuest).
   */
  function stopPreview() {
    checkRun += 1;
    if (check) check.close();
    check = null;
    previewStream = null;
    els.preview.srcObject = null;
  }

  /**
   * The plain help for devices the check could not open. A guest joins with either one alone (the others do not hear
   * or do not see them); with neither, the call cannot take them, and the help says what would.
   */
  function deviceHelp(failure) {
    var what = failure.device === 'audio' ? 'microphone' : failure.device === 'video' ? 'camera' : 'camera and microphone';
    var them = failure.device === 'both' ? 'them' : 'it';
    var instead =
      failure.device === 'video'
        ? 'You can still join with your microphone.'
        : failure.device === 'audio'
          ? 'You can still join with your camera; the others will not hear you.'
          : 'The call needs at least one of them to let you join.';
    if (failure.code === 'media-denied') return 'Your browser blocked the ' + what + '. Allow ' + them + ' with the icon at the left of the address bar. ' + instead;
    if (failure.code === 'media-missing') return 'No ' + what + ' was found. ' + instead;
    return 'The ' + what + ' could not be started. ' + instead;
  }

  function showPreviewHelp(text) {
    previewHelp = text;
    applyPreviewToggles();
  }

  async function startPreview() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || typeof window.Parley.DeviceCheck !== 'function') {
      return showPreviewHelp('This browser cannot use a camera or microphone here, and the call needs one of them. Try another browser.');
    }
    var run = ++checkRun;
    var opened = await window.Parley.DeviceCheck.open(els.check, { video: true, initial: chosen });
    // The guest may have joined while the devices were starting: hand nothing to a page that moved on.
    if (run !== checkRun || els.joinView.hidden) return opened.close();
    check = opened;
    var own = els.check.querySelector('video[data-device-preview]');
    if (own) {
      own.hidden = true;
      previewStream = own.srcObject;
    }
    els.preview.srcObject = previewStream;
    opened.on('unavailable', function (failure) {
      showPreviewHelp(deviceHelp(failure));
    });
    // A device picked anew comes with its own track: the toggles apply to it too.
    opened.on('change', applyPreviewToggles);
    showPreviewHelp(opened.failures.length > 0 ? deviceHelp(opened.failures[0]) : '');
    // Nothing could be opened: the help says so, and pickers and a level that cannot move would only confuse.
    els.check.hidden = opened.failures.some(function (f) {
      return f.device === 'both';
    });
    els.joinView.addEventListener('pointerdown', wakeLevel);
    els.joinView.addEventListener('keydown', wakeLevel);
  }

  /**
   * Browsers start sound processing only after the person has used the page, and the check opens on load: at
   * the guest's first tap or key press, a level that never moved is restarted by opening the microphone again.
   */
  function wakeLevel() {
    els.joinView.removeEventListener('pointerdown', wakeLevel);
    els.joinView.removeEventListener('keydown', wakeLevel);
    var meter = els.check.querySelector('meter');
    var select = els.check.querySelector('select[name="microphone"]');
    if (check && !joinMuted && meter && select && select.value && Number(meter.getAttribute('data-level')) === 0) select.dispatchEvent(new Event('change'));
  }

  /** Fills a picker with `devices`, keeping `wanted` selected when it is there. Returns whether it was. */
  function fillPicker(select, devices, word, wanted) {
    while (select.firstChild) select.removeChild(select.firstChild);
    devices.forEach(function (device, i) {
      select.appendChild(new Option(device.label || word + ' ' + (i + 1), device.id));
    });
    var kept = Boolean(wanted) && devices.some(function (d) {
      return d.id === wanted;
    });
    if (kept) select.value = wanted;
    select.disabled = devices.length === 0;
    return kept;
  }

  /** A device was plugged in or out before joining: the check's pickers list what is there now. */
  async function refreshCheckPickers() {
    var current = check;
    if (!current) return;
    var list = await window.Parley.listDevices().catch(function () {
      return null;
    });
    if (!list || check !== current) return;
    KINDS.forEach(function (k) {
      var select = els.check.querySelector('select[name="' + k.kind + '"]');
      if (!select) return;
      var before = select.value;
      var kept = fillPicker(select, list[k.list], k.word, before);
      // The device in use went away: the check opens the one now shown, as if picked.
      if (before && !kept && select.options.length > 0) select.dispatchEvent(new Event('change'));
    });
  }

  function applyPreviewToggles() {
    els.previewMic.setAttribute('aria-pressed', String(joinMuted));
    els.previewMic.textContent = joinMuted ? 'You will join muted' : 'Join muted';
    els.previewCamera.setAttribute('aria-pressed', String(joinCameraOff));
    els.previewCamera.textContent = joinCameraOff ? 'You will join with camera off' : 'Join with camera off';
    els.previewNote.textContent = joinCameraOff ? 'Camera off' : previewHelp;
    if (!previewStream) return;
    previewStream.getAudioTracks().forEach(function (t) {
      t.enabled = !joinMuted;
    });
    previewStream.getVideoTracks().forEach(function (t) {
      t.enabled = !joinCameraOff;
    });
    els.preview.hidden = joinCameraOff;
  }

  // ---------------------------------------------------------------- in the call

  function selfInCall() {
    if (!guest) return null;
    var id = guest.party.id;
    return guest.video.participants.find(function (p) {
      return p.id === id;
    }) || null;
  }

  function renderPeople() {
    if (!guest) return;
    var selfId = guest.party.id;
    var list = els.people;
    while (list.firstChild) list.removeChild(list.firstChild);
    guest.video.participants
      .filter(function (p) {
        return p.joined || p.id === selfId;
      })
      .sort(function (a, b) {
        return (b.id === selfId ? 1 : 0) - (a.id === selfId ? 1 : 0);
      })
      .forEach(function (p) {
        var item = document.createElement('li');
        item.dataset.participantId = p.id;
        var name = document.createElement('span');
        name.className = 'person-name';
        name.textContent = p.id === selfId ? p.name + ' (you)' : p.name;
        item.appendChild(name);
        var states = [];
        if (!p.audio) states.push('muted');
        if (!p.video) states.push('camera off');
        if (states.length > 0) {
          var state = document.createElement('span');
          state.className = 'person-state';
          state.textContent = ' — ' + states.join(', ');
          item.appendChild(state);
        }
        list.appendChild(item);
      });
  }

  function renderControls() {
    var self = selfInCall();
    var micOn = self ? self.audio : true;
    var cameraOn = self ? self.video : true;
    els.mic.textContent = micOn ? 'Mute' : 'Unmute';
    els.mic.setAttribute('aria-pressed', String(!micOn));
    els.camera.textContent = cameraOn ? 'Camera off' : 'Camera on';
    els.camera.setAttribute('aria-pressed', String(!cameraOn));
    // The browser's own "Stop sharing" ends the share in the SDK, whose events bring this back to "Share screen".
    els.share.textContent = self && self.screen ? 'Stop sharing' : 'Share screen';
  }

  // ---------------------------------------------------------------- devices in the call

  /** The device of a kind this page sends now, when the call uses the browser's default (read from its own preview). */
  function liveDeviceId(kind) {
    var own = document.getElementById(CALL_DIV_ID).querySelector('video[data-local]');
    var stream = own && own.srcObject;
    var track = stream && (kind === 'camera' ? stream.getVideoTracks() : stream.getAudioTracks())[0];
    return track && track.getSettings ? track.getSettings().deviceId || null : null;
  }

  /** Fills the call's pickers from `list` (or the browser's list now), the devices in use selected. */
  async function fillCallPickers(list) {
    var g = guest;
    if (!g) return;
    var devices = list || (await window.Parley.listDevices().catch(function () {
      return null;
    }));
    if (!devices || guest !== g) return;
    var inUse = g.video.devices;
    KINDS.forEach(function (k) {
      fillPicker(els.pickers[k.kind], devices[k.list], k.word, inUse[k.kind] || (k.kind === 'speaker' ? null : liveDeviceId(k.kind)));
    });
  }

  function setDevicePanel(open) {
    els.devicePanel.hidden = !open;
    els.devices.setAttribute('aria-expanded', String(open));
    if (open) void fillCallPickers(null);
  }

  /** Why a device was switched without the guest asking, as a sentence. */
  function unpluggedText(event) {
    return event.deviceId !== null
      ? 'Your ' + event.kind + ' was disconnected; the call now uses the default ' + event.kind + '.'
      : 'Your ' + event.kind + ' was disconnected and no other was found.';
  }

  function refreshCall() {
    renderPeople();
    renderControls();
  }

  function droppedOut() {
    show('rejoin');
    els.title.textContent = 'You left the call';
    setStatus('');
    setProblem('');
    els.rejoinButton.focus();
  }

  els.rejoinButton.addEventListener('click', function () {
    if (!guest) return;
    var g = guest;
    void act(els.rejoinButton, async function () {
      await g.rejoinVideo(CALL_DIV_ID);
      show('call');
      els.title.textContent = 'In the call';
      setStatus('Connecting to the others…');
      refreshCall();
    });
  });

  function callEnded(event) {
    unbind.forEach(function (off) {
      off();
    });
    unbind = [];
    remember(TOKEN_KEY, null);
    remember(JOINED_KEY, null);
    if (guest) guest.disconnect();
    guest = null;
    show('ended');
    els.title.textContent = 'The call has ended';
    setStatus('');
    setProblem('');
    els.endedDetail.textContent = endedText(event);
    els.title.focus();
  }

  function follow(g) {
    unbind.push(
      g.on('videoStarted', function () {
        setStatus('Connected.');
      }),
      g.on('videoStateChanged', refreshCall),
      g.on('videoParticipant', function (event, eventName) {
        if (eventName === 'connectionStateChanged' && event.connectionState === 'reconnecting') setStatus('Connection unstable, reconnecting…');
        else if (eventName === 'connectionStateChanged' && event.connectionState === 'connected') setStatus('Connected.');
        else if (eventName === 'participantJoined') setStatus(event.participant.name + ' joined the call.');
        else if (eventName === 'participantLeft') setStatus(event.participant.name + ' left the call.');
        refreshCall();
      }),
      g.on('videoError', function (event) {
        if (event.code === 'media-denied') setProblem('Your browser blocked the camera or microphone: the others cannot see or hear you. Allow them with the icon at the left of the address bar.');
        else if (event.code === 'media-missing') setProblem('No camera or microphone was found: the others cannot see or hear you.');
        else setProblem(event.message);
      }),
      g.on('deviceChanged', function (event) {
        if (event.reason === 'unplugged') setStatus(unpluggedText(event));
        void fillCallPickers(null);
      }),
      g.on('deviceListChanged', function (event) {
        var added = event.added[0];
        if (added && added.label) setStatus('New device: ' + added.label + '. Choose it under Devices.');
        void fillCallPickers(event.devices);
      }),
      g.on('videoEnded', function (event) {
        // Dropped past the grace period while the call goes on: offered to come back, still connected.
        if (event.reason === 'dropped' && g.video.canRejoin) droppedOut();
        else callEnded(event);
      }),
    );
  }

  /** Runs a call action from `control`; a refusal is said with `refusals[code]` when there is one, else the SDK's message. */
  async function act(control, action, refusals) {
    control.disabled = true;
    try {
      await action();
      setProblem('');
    } catch (error) {
      var known = refusals && error && refusals[error.code];
      setProblem(known || (error && error.message ? error.message : String(error)));
    } finally {
      control.disabled = false;
      renderControls();
    }
  }

  // ---------------------------------------------------------------- joining

  async function join(name) {
    setProblem('');
    els.joinButton.disabled = true;
    setStatus('Joining the call…');
    // The SDK opens the devices itself, those picked in the check; a phone often cannot hand one camera to two users at once.
    if (check) chosen = check.choice;
    stopPreview();
    try {
      guest = await window.Parley.joinAsGuest({ server: location.origin, token: token, name: name, divID: CALL_DIV_ID, call: { devices: chosen } });
    } catch (error) {
      els.joinButton.disabled = false;
      guest = null;
      remember(JOINED_KEY, null);
      var code = error && error.code;
      var refusal = REFUSALS[code];
      if (refusal && !refusal.retry) return refuse(code === 'conflict' ? 'The call has ended' : 'Cannot join the call', refusal.text);
      setStatus('');
      setProblem(refusal ? refusal.text : 'Could not join: ' + (error && error.message ? error.message : String(error)));
      show('join');
      void startPreview();
      return;
    }
    remember(JOINED_KEY, name);
    follow(guest);
    show('call');
    els.title.textContent = 'In the call';
    setStatus(guest.video.state === 'active' ? 'Connecting to the others…' : 'Joining the call…');
    refreshCall();
    els.mic.focus();
    if (joinMuted) await act(els.mic, function () { return guest.muteAudio(); });
    if (joinCameraOff && guest) await act(els.camera, function () { return guest.disableVideo(); });
  }

  els.form.addEventListener('submit', function (event) {
    event.preventDefault();
    var name = els.name.value.trim();
    if (!name) {
      els.nameProblem.textContent = 'Please enter your name.';
      els.name.setAttribute('aria-invalid', 'true');
      els.name.focus();
      return;
    }
    els.nameProblem.textContent = '';
    els.name.removeAttribute('aria-invalid');
    void join(name);
  });

  els.previewMic.addEventListener('click', function () {
    joinMuted = !joinMuted;
    applyPreviewToggles();
  });
  els.previewCamera.addEventListener('click', function () {
    joinCameraOff = !joinCameraOff;
    applyPreviewToggles();
  });

  els.mic.addEventListener('click', function () {
    var self = selfInCall();
    if (!guest) return;
    var g = guest;
    void act(els.mic, function () {
      return self && !self.audio ? g.unmuteAudio() : g.muteAudio();
    });
  });
  els.camera.addEventListener('click', function () {
    var self = selfInCall();
    if (!guest) return;
    var g = guest;
    void act(els.camera, function () {
      return self && !self.video ? g.enableVideo() : g.disableVideo();
    });
  });
  els.share.addEventListener('click', function () {
    var self = selfInCall();
    if (!guest) return;
    var g = guest;
    void act(
      els.share,
      function () {
        return self && self.screen ? g.stopScreenShare() : g.startScreenShare();
      },
      SHARE_REFUSALS,
    );
  });
  els.devices.addEventListener('click', function () {
    setDevicePanel(els.devicePanel.hidden);
  });
  KINDS.forEach(function (k) {
    var select = els.pickers[k.kind];
    select.addEventListener('change', function () {
      if (!guest) return;
      var g = guest;
      var choice = {};
      choice[k.kind] = select.value;
      void act(
        select,
        function () {
          return g.setDevices(choice);
        },
        DEVICE_REFUSALS,
      ).then(function () {
        return fillCallPickers(null);
      });
    });
  });
  els.leave.addEventListener('click', function () {
    if (!guest) return;
    var g = guest;
    void act(els.leave, function () {
      return g.leaveVideo();
    });
  });

  // ---------------------------------------------------------------- start

  function start() {
    // Phones cannot share their screen from a browser: the button is only there where it can work.
    els.share.hidden = !(navigator.mediaDevices && typeof navigator.mediaDevices.getDisplayMedia === 'function');
    els.speakerRow.hidden = !CAN_PICK_SPEAKER;
    if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
      navigator.mediaDevices.addEventListener('devicechange', function () {
        void refreshCheckPickers();
      });
    }
    var fromHash = location.hash.length > 1 ? location.hash.slice(1) : null;
    if (fromHash) {
      remember(TOKEN_KEY, fromHash);
      history.replaceState(null, '', location.pathname + location.search);
    }
    token = fromHash || recall(TOKEN_KEY);
    if (!window.Parley || typeof window.Parley.joinAsGuest !== 'function') {
      return refuse('Cannot join the call', 'The call service did not load. Reload the page to try again.');
    }
    if (!token) {
      return refuse('No invitation', 'This page opens from an invitation link. Ask the person you are talking with to send you one.');
    }
    var rejoinAs = fromHash ? null : recall(JOINED_KEY);
    if (rejoinAs) {
      // A reload during the call: rejoin under the same name (the SDK resumes the same guest).
      els.name.value = rejoinAs;
      show('none');
      void join(rejoinAs);
      return;
    }
    remember(JOINED_KEY, null);
    show('join');
    // After the page's load event: a preview without any device never gets a frame, which would hold that event
    // (and the browser's loading indicator) for as long as the page is open.
    if (document.readyState === 'complete') void startPreview();
    else window.addEventListener('load', startPreview, { once: true });
  }

  // Another link pasted into this tab changes only the fragment, which loads nothing: start over with it.
  window.addEventListener('hashchange', function () {
    if (location.hash.length > 1 && !guest) location.reload();
  });

  start();
})();
